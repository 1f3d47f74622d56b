using Regatta.Grains.Network;
using Regatta.Workers;

namespace Regatta.Grains.Tests.Network;

public sealed class ChainRouterTests
{
    private static readonly HashSet<string> None = [];

    [Fact]
    public void A_chain_covers_every_block_once_taking_the_longest_reach_at_each_step()
    {
        var router = new ChainRouter(new Dictionary<string, LayerRange>
        {
            ["a"] = new(0, 2), ["b"] = new(0, 4), ["c"] = new(2, 6), ["d"] = new(4, 6),
        });

        var chain = router.Chain(6, None)!;

        Assert.Equal([new Hop("b", 0, 4), new Hop("c", 4, 6)], chain);
    }

    [Fact]
    public void A_failed_worker_is_replaced_by_another_holding_the_same_block()
    {
        var router = new ChainRouter(new Dictionary<string, LayerRange> { ["a"] = new(0, 3), ["a2"] = new(0, 2), ["b"] = new(2, 6) });

        Assert.Equal(new Hop("a2", 0, 2), router.Next(0, new HashSet<string> { "a" }));
        Assert.Null(router.Next(0, new HashSet<string> { "a", "a2" }));
        Assert.Null(router.Chain(6, new HashSet<string> { "b" }));
    }

    [Fact]
    public void Replicas_with_the_same_reach_take_turns()
    {
        var router = new ChainRouter(new Dictionary<string, LayerRange> { ["a"] = new(0, 2), ["b"] = new(0, 2) });

        var picks = Enumerable.Range(0, 4).Select(_ => router.Next(0, None)!.WorkerId).ToList();

        Assert.Equal(["a", "b", "a", "b"], picks);
    }

    [Fact]
    public void A_hop_from_the_middle_of_a_range_starts_at_that_block()
    {
        var router = new ChainRouter(new Dictionary<string, LayerRange> { ["a"] = new(0, 6) });
        Assert.Equal(new Hop("a", 3, 6), router.Next(3, None));
    }
}
