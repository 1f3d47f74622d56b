using Regatta.Grains.Workers;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>
/// The sharded worker registry: callers still see one list (paged in id order, filtered, counted), every shard
/// persists its slice, and upserts that share a write are all stored.
/// </summary>
public sealed class WorkerRegistryTests
{
    private static readonly Hardware Cpu = new() { DeviceKind = "cpu", DeviceName = "test", CpuCores = 2, RamBytes = 1 << 30, AgentVersion = "test" };

    [Fact]
    public void A_worker_id_maps_to_the_same_shard_in_every_process()
    {
        // Stored slices are found again only if the mapping never changes: pinned values, not a re-computation.
        Assert.Equal(3, WorkerRegistry.ShardOf("w-0"));
        Assert.Equal(20, WorkerRegistry.ShardOf("worker-42"));
        Assert.Equal(12, WorkerRegistry.ShardOf("a"));
        Assert.Equal(9, WorkerRegistry.ShardOf("gpu-box-7"));
        var spread = Enumerable.Range(0, 3200).Select(i => WorkerRegistry.ShardOf($"w-{i}")).GroupBy(s => s).ToList();
        Assert.Equal(WorkerRegistry.Shards, spread.Count);
        Assert.All(spread, g => Assert.InRange(g.Count(), 50, 150)); // 100 each on average
    }

    [Fact]
    public async Task List_pages_across_shards_in_id_order_with_filter_and_counts_and_survives_a_restart()
    {
        var cluster = await RegattaCluster.StartAsync();
        try
        {
            var ids = Enumerable.Range(0, 120).Select(i => $"w-{i:D3}").ToList();
            await Task.WhenAll(ids.Select(async (id, i) =>
            {
                var worker = cluster.Grains.GetGrain<IWorkerGrain>(id);
                await worker.Register(new WorkerRegistration { Name = id, Hardware = Cpu });
                if (i % 3 == 0) await cluster.Grains.GetGrain<IWorkerOperatorGrain>(worker.GetPrimaryKeyString()).Approve();
            }));
            var approved = ids.Where((_, i) => i % 3 == 0).ToList();
            var registry = cluster.Grains.GetGrain<IWorkerRegistryGrain>(0);

            await AssertListsAsync(registry, ids, approved);
            var counts = await registry.Counts();
            Assert.Equal(new WorkerCounts(Online: 40, Pending: 80, Offline: 0, Total: 120), counts);

            cluster = await cluster.RestartAsync();

            registry = cluster.Grains.GetGrain<IWorkerRegistryGrain>(0);
            await AssertListsAsync(registry, ids, approved);
            Assert.Equal(counts, await registry.Counts());
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task Concurrent_upserts_that_share_a_shard_write_are_all_stored()
    {
        var cluster = await RegattaCluster.StartAsync();
        try
        {
            var registry = cluster.Grains.GetGrain<IWorkerRegistryGrain>(0);
            var now = DateTimeOffset.UtcNow;
            // 400 upserts in flight over 32 shards: most arrive while their shard is writing and ride on the next write.
            var summaries = Enumerable.Range(0, 400)
                .Select(i => new WorkerSummary($"s-{i:D3}", $"s-{i}", ApprovalStatus.Pending, Liveness.Online, now, "cpu", 0)).ToList();
            await Task.WhenAll(summaries.Select(registry.Upsert));
            // Then every one changes again, and some are removed.
            await Task.WhenAll(summaries.Select(s => registry.Upsert(s with { Approval = ApprovalStatus.Approved })));
            await Task.WhenAll(summaries.Take(50).Select(s => registry.Remove(s.WorkerId)));

            cluster = await cluster.RestartAsync();

            registry = cluster.Grains.GetGrain<IWorkerRegistryGrain>(0);
            var stored = await ListAllAsync(registry, null);
            Assert.Equal(summaries.Skip(50).Select(s => s.WorkerId), stored.Select(w => w.WorkerId));
            Assert.All(stored, w => Assert.Equal(ApprovalStatus.Approved, w.Approval));
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task Liveness_reported_by_a_heartbeat_and_an_unregistration_show_in_list_and_counts()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var worker = cluster.Grains.GetGrain<IWorkerGrain>("hb");
        await worker.Register(new WorkerRegistration { Name = "hb", Hardware = Cpu });
        await cluster.Grains.GetGrain<IWorkerOperatorGrain>(worker.GetPrimaryKeyString()).Approve();
        var registry = cluster.Grains.GetGrain<IWorkerRegistryGrain>(0);

        await worker.Heartbeat(new Heartbeat { Status = Liveness.Busy });
        Assert.Equal(Liveness.Busy, (await registry.List(0, 10)).Items.Single().Liveness);
        Assert.Equal(new WorkerCounts(Online: 1, Pending: 0, Offline: 0, Total: 1), await registry.Counts());

        await worker.Unregister();
        Assert.Equal(Liveness.Offline, (await registry.List(0, 10, ApprovalStatus.Approved)).Items.Single().Liveness);
        Assert.Equal(new WorkerCounts(Online: 0, Pending: 0, Offline: 1, Total: 1), await registry.Counts());
    }

    [Fact]
    public async Task Bad_pages_are_refused()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var registry = cluster.Grains.GetGrain<IWorkerRegistryGrain>(0);
        Assert.Equal("bad_page", (await Assert.ThrowsAsync<RegattaException>(() => registry.List(-1, 10))).Code);
        Assert.Equal("bad_page", (await Assert.ThrowsAsync<RegattaException>(() => registry.List(0, 0))).Code);
        Assert.Equal("bad_page", (await Assert.ThrowsAsync<RegattaException>(() => registry.List(0, 501))).Code);
        var empty = await registry.List(int.MaxValue - 1, 500);
        Assert.Empty(empty.Items);
        Assert.Equal(0, empty.Total);
    }

    private static async Task AssertListsAsync(IWorkerRegistryGrain registry, List<string> all, List<string> approved)
    {
        Assert.Equal(all, (await ListAllAsync(registry, null, take: 7)).Select(w => w.WorkerId));
        Assert.Equal(approved, (await ListAllAsync(registry, ApprovalStatus.Approved, take: 11)).Select(w => w.WorkerId));
        var middle = await registry.List(50, 10);
        Assert.Equal(all.Skip(50).Take(10), middle.Items.Select(w => w.WorkerId));
        Assert.Equal(120, middle.Total);
        Assert.Equal(50, middle.Skip);
        Assert.Equal(80, (await registry.List(0, 1, ApprovalStatus.Pending)).Total);
    }

    private static async Task<List<WorkerSummary>> ListAllAsync(IWorkerRegistryGrain registry, ApprovalStatus? approval, int take = 500)
    {
        var all = new List<WorkerSummary>();
        while (true)
        {
            var page = await registry.List(all.Count, take, approval);
            all.AddRange(page.Items);
            if (page.Items.Count == 0 || all.Count >= page.Total) return all;
        }
    }
}
