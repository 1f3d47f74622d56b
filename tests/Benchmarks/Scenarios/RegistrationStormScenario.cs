using System.Diagnostics;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Registration storm: N workers register and are approved through the TCP clients, as many agents starting at
/// once and an operator approving them would do (two WorkerGrain writes each, plus their registry shard's writes).
/// Baseline, same clients and store: N no-op grains activated and writing one record each. Target ≤ 2×.
/// </summary>
public static class RegistrationStormScenario
{
    public const int InFlight = 256;

    public static async Task<IReadOnlyList<BenchmarkResult>> RunAsync(LoadCluster cluster, string prefix, int workers)
    {
        // Warm both paths (JIT, connections, the registry shards' first activation) outside the timing.
        await cluster.RegisterWorkersAsync($"{prefix}-warm", 200, InFlight);
        await cluster.ForEachAsync(200, InFlight, (c, i) => c.GetGrain<IStoredNoopGrain>($"{prefix}-warm-{i}").Touch("warm"));

        var sw = Stopwatch.StartNew();
        await cluster.ForEachAsync(workers, InFlight, (c, i) => c.GetGrain<IStoredNoopGrain>($"{prefix}-{i}").Touch($"{prefix}-{i}"));
        var baseline = sw.Elapsed.TotalSeconds;

        sw.Restart();
        await cluster.RegisterWorkersAsync(prefix, workers, InFlight);
        var ours = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"  registration storm N={workers}: {ours:F2} s ({workers / ours:F0}/s); {workers} stored no-op activations {baseline:F2} s");
        return
        [
            BenchmarkResult.Compare($"Registration storm: {workers} workers register + are approved over {cluster.Clients.Count} TCP clients", ours, baseline, "s",
                "≤ 2× baseline", r => r <= 2,
                $"baseline: {workers} no-op grains activated, one SQLite write each; {InFlight} calls in flight; ours = 2 worker writes + sharded registry writes per worker"),
        ];
    }
}
