using Regatta.Network;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>After a silo restart a worker's liveness comes from its stored last-seen time, not from the Online it was stored with.</summary>
public sealed class WorkerReactivationTests
{
    /// <summary>Silence is the scenario: the worker must have been quiet for longer than the timeout (time passing, not a race).</summary>
    private static async Task OutlastTimeout(DateTimeOffset lastSeen, TimeSpan timeout)
    {
        var left = lastSeen + timeout + TimeSpan.FromMilliseconds(200) - DateTimeOffset.UtcNow;
        if (left > TimeSpan.Zero) await Task.Delay(left);
    }

    [Fact]
    public async Task A_worker_silent_past_the_timeout_across_a_restart_is_offline_on_the_first_read_and_readiness_follows()
    {
        var cluster = await RegattaCluster.StartAsync(heartbeatTimeout: TimeSpan.FromMinutes(5));
        try
        {
            var blocks = (await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetModel()).ParametersPerBlock * 4;
            var run = cluster.Grains.GetGrain<IRunGrain>("silent");
            await run.Create(Specs.Quick(minClients: 3)); // stays waiting for members
            await run.Start();
            foreach (var id in new[] { "silent", "alive" })
            {
                await cluster.Grains.GetGrain<IWorkerGrain>(id).Register(new WorkerRegistration
                {
                    Name = id,
                    Hardware = new Hardware { DeviceKind = "cpu", CpuCores = 2, ServeMemoryBytes = blocks * 10 }, // the whole model each
                });
                await cluster.Grains.GetGrain<IWorkerOperatorGrain>(id).Approve();
            }
            await cluster.Grains.GetGrain<IWorkerGrain>("silent").Join("silent", null);
            await Eventually.Until(run.GetView, v => v.Members.Any(m => m.WorkerId == "silent" && m.Status == MemberStatus.Active),
                TimeSpan.FromSeconds(10), "admitted");
            await Eventually.Until(() => cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView(), v => v.Assignments.Count == 2,
                TimeSpan.FromSeconds(20), "both assigned");
            foreach (var id in new[] { "silent", "alive" }) await Announcing.Announce(cluster, id);
            await Eventually.Until(() => cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView(), v => v.ReadyForInference && v.Serving.Count == 2,
                TimeSpan.FromSeconds(20), "both serve");
            var lastSeen = (await cluster.Grains.GetGrain<IWorkerOperatorGrain>("silent").GetView()).LastSeen;

            // Restarted with a short timeout, and the silence made to outlast it; then "alive" heartbeats.
            var timeout = TimeSpan.FromSeconds(2);
            cluster = await cluster.RestartAsync(heartbeatTimeout: timeout);
            await OutlastTimeout(lastSeen, timeout);
            await cluster.Grains.GetGrain<IWorkerGrain>("alive").Heartbeat(new Heartbeat());
            await Announcing.Announce(cluster, "alive"); // its agent re-announces its blocks with the heartbeat

            // The very first reads after reactivation: no sweep of the liveness clock has run on this silo yet.
            var silent = await cluster.Grains.GetGrain<IWorkerOperatorGrain>("silent").GetView();
            Assert.Equal(Liveness.Offline, silent.Liveness);
            Assert.Equal(Liveness.Online, (await cluster.Grains.GetGrain<IWorkerOperatorGrain>("alive").GetView()).Liveness);
            var map = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView();
            Assert.Equal(["alive"], map.Assignments.Keys);
            Assert.DoesNotContain("silent", map.Serving.Keys);
            await Eventually.Until(() => cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView(), v => v.ReadyForInference,
                TimeSpan.FromSeconds(10), "\"alive\" serves every block"); // its announcement is one-way: it lands soon after

            // The silent worker also leaves its run, and the worker list says Offline.
            run = cluster.Grains.GetGrain<IRunGrain>("silent"); // through the restarted cluster's client
            await Eventually.Until(run.GetView, v => v.Members.All(m => m.WorkerId != "silent" || m.Status == MemberStatus.Dropped),
                TimeSpan.FromSeconds(10), "the silent worker leaves its run");
            Assert.Empty((await cluster.Grains.GetGrain<IWorkerOperatorGrain>("silent").GetView()).Runs);
            await Eventually.Until(() => cluster.Grains.GetGrain<IWorkerRegistryGrain>(0).List(0, 10),
                page => page.Items.Single(w => w.WorkerId == "silent").Liveness == Liveness.Offline, TimeSpan.FromSeconds(10), "listed Offline");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task Readiness_is_false_from_the_first_read_when_every_serving_worker_fell_silent_across_a_restart()
    {
        var cluster = await RegattaCluster.StartAsync(heartbeatTimeout: TimeSpan.FromMinutes(5));
        try
        {
            var blocks = (await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetModel()).ParametersPerBlock * 4;
            await cluster.Grains.GetGrain<IWorkerGrain>("only").Register(new WorkerRegistration
            {
                Name = "only",
                Hardware = new Hardware { DeviceKind = "cpu", CpuCores = 2, ServeMemoryBytes = blocks * 10 },
            });
            await cluster.Grains.GetGrain<IWorkerOperatorGrain>("only").Approve();
            await Announcing.Announce(cluster, "only");
            await Eventually.Until(() => cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView(), v => v.ReadyForInference, TimeSpan.FromSeconds(20), "ready");
            var lastSeen = (await cluster.Grains.GetGrain<IWorkerOperatorGrain>("only").GetView()).LastSeen;

            var timeout = TimeSpan.FromSeconds(2);
            cluster = await cluster.RestartAsync(heartbeatTimeout: timeout);
            await OutlastTimeout(lastSeen, timeout);

            // The map is read before anything touched the worker's grain.
            var map = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView();
            Assert.False(map.ReadyForInference);
            Assert.Empty(map.Assignments);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }
}
