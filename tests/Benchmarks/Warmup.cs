using System.Diagnostics;
using Regatta.Benchmarks.Scenarios;
using Regatta.Grains.Aggregation;
using Regatta.Runs;

namespace Regatta.Benchmarks;

/// <summary>
/// Runs every aggregation path on small inputs for about a second before anything is timed. With tiered
/// compilation a method is recompiled fully optimised only after ~30 calls plus a background delay; one
/// warm-up round of K = 8 is not enough, and the first scenario measured half its steady-state speed.
/// </summary>
public static class Warmup
{
    public static void Run(TimeSpan duration)
    {
        var updates = new Updates(8, 1 << 14);
        var strategies = new[] { AggregationStrategy.FedAvg, AggregationStrategy.Median, AggregationStrategy.TrimmedMean, AggregationStrategy.Krum };
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            foreach (var strategy in strategies)
                FedAvgScenario.Round(new AggregationSpec { Strategy = strategy }, updates);
            FedAvgScenario.SequentialRead(updates, 1);
        }
    }
}
