using Regatta.Grains.Network;
using Regatta.Grains.Security;
using Regatta.Network;
using Regatta.Workers;

namespace Regatta.Grains.Tests.Network;

public sealed class ServedCoverageTests
{
    private static readonly LayerMapView Plan = new()
    {
        ModelVersion = "v1",
        Blocks = 8,
        Assignments = new() { ["a"] = new LayerRange(0, 4), ["b"] = new LayerRange(4, 8), ["c"] = new LayerRange(3, 8) },
        Replicas = [1, 1, 1, 2, 2, 2, 2, 2],
    };

    [Fact]
    public void Planned_blocks_count_as_served_only_once_the_worker_announced_exactly_them()
    {
        var announced = new Dictionary<string, Announcement>
        {
            ["a"] = new("v1", new LayerRange(0, 4)),
            ["b"] = new("v0", new LayerRange(4, 8)), // an older model's blocks
            ["c"] = new("v1", new LayerRange(0, 3)), // a range it no longer holds
            ["http"] = new("v1", new LayerRange(0, 8)), // not in the plan at all
        };

        var view = ServedCoverage.Apply(Plan, announced);

        Assert.Equal(["a"], view.Serving.Keys);
        Assert.Equal([1, 1, 1, 1, 0, 0, 0, 0], view.ServingReplicas);
        Assert.Equal((50.0, 100.0, false), (view.CoveragePercent, view.PlannedCoveragePercent, view.ReadyForInference));
        Assert.Equal([], view.ServersOf(5));
    }

    [Fact]
    public void The_network_is_ready_when_every_block_has_a_serving_worker()
    {
        var announced = new Dictionary<string, Announcement>
        {
            ["a"] = new("v1", new LayerRange(0, 4)),
            ["c"] = new("v1", new LayerRange(3, 8)),
        };

        var view = ServedCoverage.Apply(Plan, announced);

        Assert.True(view.ReadyForInference);
        Assert.Equal(100.0, view.CoveragePercent);
        Assert.Equal(["a", "c"], view.ServersOf(3));
        Assert.False(ServedCoverage.Apply(Plan, new Dictionary<string, Announcement>()).ReadyForInference);
        Assert.False(ServedCoverage.Apply(new LayerMapView(), announced).ReadyForInference); // no model: nothing to serve
    }
}

public sealed class UserKeysTests
{
    [Fact]
    public void A_key_names_its_user_and_nothing_else_parses_as_one()
    {
        var key = UserKeys.New("ada.lovelace_1");
        Assert.Equal("ada.lovelace_1", UserKeys.UserOf(key));
        Assert.NotEqual(key, UserKeys.New("ada.lovelace_1")); // a fresh secret each time
        Assert.Null(UserKeys.UserOf(null));
        Assert.Null(UserKeys.UserOf("rgu_ada")); // no secret
        Assert.Null(UserKeys.UserOf("rgu_ada."));
        Assert.Null(UserKeys.UserOf("rgu_.secret"));
        Assert.Null(UserKeys.UserOf("rgu_../etc.secret")); // not a valid id
        Assert.Null(UserKeys.UserOf(Secrets.New())); // a worker token or admin key
    }
}
