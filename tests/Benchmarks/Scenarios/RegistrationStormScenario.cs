using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Regatta.Grains;
using Regatta.Grains.Workers;
using Regatta.Workers;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Registration storm: N workers register and are approved through the TCP clients, as many agents starting at once and
/// an operator approving them would do (two WorkerGrain writes each, plus their registry shard's writes). The clock stops
/// when the registry's stored slices hold all N as approved: the shards write behind (a tick after the storm's changes pause, at most a second after the first), and a
/// storm is over when what it changed is durable, as the baseline's writes are when their calls return.
/// Baseline, same clients and store: N no-op grains activated and writing one record each. The two alternate, best of
/// two each (the second storm registers other workers). Target ≤ 2×.
/// </summary>
public static class RegistrationStormScenario
{
    public const int InFlight = 256;
    private const int Repeats = 2;

    public static async Task<IReadOnlyList<BenchmarkResult>> RunAsync(LoadCluster cluster, string prefix, int workers)
    {
        // Warm both paths (JIT, connections, the registry shards' first activation) outside the timing.
        await cluster.RegisterWorkersAsync($"{prefix}-warm", 200, InFlight);
        await cluster.ForEachAsync(200, InFlight, (c, i) => c.GetGrain<IStoredNoopGrain>($"{prefix}-warm-{i}").Touch("warm"));

        double ours = double.MaxValue, baseline = double.MaxValue, registered = double.MaxValue;
        for (var r = 0; r < Repeats; r++)
        {
            var noops = $"{prefix}-noop{r}";
            var sw = Stopwatch.StartNew();
            await cluster.ForEachAsync(workers, InFlight, (c, i) => c.GetGrain<IStoredNoopGrain>($"{noops}-{i}").Touch($"{noops}-{i}"));
            baseline = Math.Min(baseline, sw.Elapsed.TotalSeconds);

            // The first storm registers the workers the later scenarios use (prefix-0..N-1).
            var ids = r == 0 ? prefix : $"{prefix}-again{r}";
            sw.Restart();
            await cluster.RegisterWorkersAsync(ids, workers, InFlight);
            var calls = sw.Elapsed.TotalSeconds;
            await StoredAsync(cluster, ids, workers);
            ours = Math.Min(ours, sw.Elapsed.TotalSeconds);
            registered = Math.Min(registered, calls);
            Console.WriteLine($"  registration storm N={workers}: calls answered {calls:F2} s, registry stored {sw.Elapsed.TotalSeconds:F2} s; {workers} stored no-op activations {baseline:F2} s");
        }
        return
        [
            BenchmarkResult.Compare($"Registration storm: {workers} workers register + are approved over {cluster.Clients.Count} TCP clients, until the registry has stored them", ours, baseline, "s",
                "≤ 2× baseline", r => r <= 2,
                $"baseline: {workers} no-op grains activated, one SQLite write each; {InFlight} calls in flight; ours = 2 worker writes + the registry shards' write-behind; the calls alone were answered after {registered:F2} s; best of {Repeats}, alternated"),
        ];
    }

    /// <summary>Waits until the registry shards' stored slices list workers {prefix}-0..count-1, approved.</summary>
    private static async Task StoredAsync(LoadCluster cluster, string prefix, int count)
    {
        var storage = cluster.SiloServices.GetRequiredKeyedService<IGrainStorage>(StoreNames.Regatta);
        var grains = cluster.SiloServices.GetRequiredService<IGrainFactory>();
        var expected = Enumerable.Range(0, count).Select(i => $"{prefix}-{i}").GroupBy(WorkerRegistry.ShardOf).ToDictionary(g => g.Key, g => g.ToList());
        var deadline = Stopwatch.StartNew();
        while (expected.Count > 0)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException($"{expected.Sum(e => e.Value.Count)} workers never reached the registry's store");
            foreach (var shard in expected.Keys.ToList())
            {
                var stored = new GrainState<WorkerRegistryShardState>(new());
                await storage.ReadStateAsync("workers", grains.GetGrain<IWorkerRegistryShardGrain>(shard).GetGrainId(), stored);
                var workers = stored.State?.Workers ?? [];
                if (expected[shard].All(id => workers.TryGetValue(id, out var w) && w.Approval == ApprovalStatus.Approved)) expected.Remove(shard);
            }
            if (expected.Count > 0) await Task.Delay(20); // polls the store: the shards' writes have no completion signal outside the silo
        }
    }
}
