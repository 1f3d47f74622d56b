using Regatta.Network;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>The layer map follows workers as they register, get approved, go offline and come back.</summary>
public sealed class LayerMapTests
{
    private static async Task<long> BytesPerBlock(RegattaCluster cluster) =>
        (await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetModel()).ParametersPerBlock * 4;

    private static async Task<WorkerView> Register(RegattaCluster cluster, string id, long memory) =>
        (await cluster.Grains.GetGrain<IWorkerGrain>(id).Register(new WorkerRegistration
        {
            Name = id,
            Hardware = new Hardware { DeviceKind = "cpu", CpuCores = 2, ServeMemoryBytes = memory },
        })).View;

    private static Task<LayerMapView> Plan(RegattaCluster cluster, Func<LayerMapView, bool> until, string what) =>
        Eventually.Until(() => cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView(), until, TimeSpan.FromSeconds(20), what);

    [Fact]
    public async Task Coverage_and_readiness_follow_workers_joining_getting_approved_and_going_offline()
    {
        await using var cluster = await RegattaCluster.StartAsync(heartbeatTimeout: TimeSpan.FromSeconds(3));
        var block = await BytesPerBlock(cluster);
        var third = block * 2 + block / 2;

        var empty = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView();
        Assert.Equal((6, 0.0, false), (empty.Blocks, empty.CoveragePercent, empty.ReadyForInference));

        foreach (var id in new[] { "a", "b", "c" }) await Register(cluster, id, third);
        var pending = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView();
        Assert.Empty(pending.Assignments); // pending workers serve nothing

        await cluster.Grains.GetGrain<IWorkerOperatorGrain>("a").Approve();
        var one = await Plan(cluster, v => v.Assignments.Count == 1, "a is assigned");
        Assert.Equal(new LayerRange(0, 2), one.Assignments["a"]);
        Assert.Equal((0.0, 33.33, false), (one.CoveragePercent, one.PlannedCoveragePercent, one.ReadyForInference));
        Assert.Equal(3, one.RecommendedWorkers);

        await cluster.Grains.GetGrain<IWorkerOperatorGrain>("b").Approve();
        await cluster.Grains.GetGrain<IWorkerOperatorGrain>("c").Approve();
        var full = await Plan(cluster, v => v.PlannedCoveragePercent == 100, "all blocks assigned");
        Assert.Equal([1, 1, 1, 1, 1, 1], full.Replicas);
        // Assigned is not served: only once each agent has loaded its blocks and announced them is the network ready.
        Assert.Equal((0.0, false), (full.CoveragePercent, full.ReadyForInference));
        await Announcing.Announce(cluster, "a");
        await Announcing.Announce(cluster, "b");
        var twoThirds = await Plan(cluster, v => v.Serving.Count == 2, "a and b serve");
        Assert.Equal((66.67, false), (twoThirds.CoveragePercent, twoThirds.ReadyForInference));
        Assert.Equal([1, 1, 1, 1, 0, 0], twoThirds.ServingReplicas);
        await Announcing.Announce(cluster, "c");
        await Plan(cluster, v => v.ReadyForInference, "every block served");
        Assert.Equal([new LayerRange(0, 2), new LayerRange(2, 4), new LayerRange(4, 6)],
            full.Assignments.Values.OrderBy(r => r.Start));
        // Each worker hears its range, for the model version the map serves.
        var b = await Eventually.Until(() => cluster.Grains.GetGrain<IWorkerOperatorGrain>("b").GetView(), v => v.Layers is not null, TimeSpan.FromSeconds(10), "b told");
        Assert.Equal((full.Assignments["b"], full.ModelVersion), (b.Layers!, b.ModelVersion));

        // A fourth worker with room for the whole model: it takes all blocks, the others stay where they are.
        await Register(cluster, "d", block * 10);
        await cluster.Grains.GetGrain<IWorkerOperatorGrain>("d").Approve();
        var four = await Plan(cluster, v => v.Assignments.Count == 4, "d is assigned");
        Assert.Equal(new LayerRange(0, 6), four.Assignments["d"]);
        Assert.Equal([2, 2, 2, 2, 2, 2], four.Replicas);
        foreach (var id in new[] { "a", "b", "c" }) Assert.Equal(full.Assignments[id], four.Assignments[id]);
        await Announcing.Announce(cluster, "d");

        // a, b, c stop heartbeating (d keeps going): they go offline and d alone covers everything.
        using var beating = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var heartbeats = Task.Run(async () =>
        {
            // d's agent: a heartbeat every 300 ms (the rate is the point, not a wait for anything).
            using var rate = new PeriodicTimer(TimeSpan.FromMilliseconds(300));
            do await cluster.Grains.GetGrain<IWorkerGrain>("d").Heartbeat(new Heartbeat());
            while (await rate.WaitForNextTickAsync(beating.Token).AsTask().ContinueWith(t => t.IsCompletedSuccessfully && t.Result));
        }, beating.Token);
        var alone = await Plan(cluster, v => v.Assignments.Count == 1, "a, b, c dropped after going offline");
        Assert.True(alone.ReadyForInference);
        Assert.Equal(["d"], alone.Serving.Keys);
        Assert.Equal([1, 1, 1, 1, 1, 1], alone.Replicas);
        var a = await cluster.Grains.GetGrain<IWorkerOperatorGrain>("a").GetView();
        Assert.Equal((Liveness.Offline, (LayerRange?)null), (a.Liveness, a.Layers));

        // d unregisters: nothing serves; a comes back (registers again) and holds its third.
        await beating.CancelAsync();
        await heartbeats;
        await cluster.Grains.GetGrain<IWorkerGrain>("d").Unregister();
        var none = await Plan(cluster, v => v.Assignments.Count == 0, "d dropped");
        Assert.False(none.ReadyForInference);
        await Register(cluster, "a", third);
        var back = await Plan(cluster, v => v.Assignments.Count == 1, "a back");
        Assert.Equal(2, back.Assignments["a"].Count);
    }

    [Fact]
    public async Task Quantization_and_replication_settings_re_plan_the_network()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var block = await BytesPerBlock(cluster);
        foreach (var id in new[] { "q1", "q2", "q3" })
        {
            await Register(cluster, id, block * 3 + 1);
            await cluster.Grains.GetGrain<IWorkerOperatorGrain>(id).Approve();
        }
        var float32 = await Plan(cluster, v => v.Assignments.Count == 3, "three assigned");
        Assert.All(float32.Assignments.Values, r => Assert.Equal(3, r.Count));

        var settings = cluster.Grains.GetGrain<INetworkSettingsGrain>(0);
        await settings.SetQuantization("bfloat16");
        var half = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView();
        Assert.Equal(("bfloat16", block / 2), (half.Quantization, half.BytesPerBlock));
        Assert.All(half.Assignments.Values, r => Assert.Equal(6, r.Count));
        Assert.Equal([3, 3, 3, 3, 3, 3], half.Replicas);

        await settings.SetReplication(4);
        Assert.Equal(4, (await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView()).ReplicationTarget);
        Assert.Equal(4, (await settings.SetReplication(4)).Replication);
        await Assert.ThrowsAsync<RegattaException>(() => settings.SetReplication(0));
        await Assert.ThrowsAsync<RegattaException>(() => settings.SetQuantization("fp8"));
        Assert.Equal("bfloat16", (await settings.Get()).Quantization); // the refused change changed nothing
    }
}
