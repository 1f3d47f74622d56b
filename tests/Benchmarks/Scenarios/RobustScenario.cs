using Regatta.Grains.Aggregation;
using Regatta.Runs;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Robust strategies (median, trimmed mean, Krum) in GB/s of update data through a whole round (the Adds copy
/// every update, Finish aggregates), against the FedAvg figure on the same updates in the same run.
/// Target: report; median ≥ 0.1 of FedAvg.
/// </summary>
public static class RobustScenario
{
    public static IEnumerable<BenchmarkResult> Run(int k, int p, int repeats)
    {
        var updates = new Updates(k, p);
        var fedAvg = FedAvgScenario.Throughput(new AggregationSpec { Strategy = AggregationStrategy.FedAvg }, updates, repeats);
        Console.WriteLine($"  FedAvg K={k} P={FedAvgScenario.Label(p)}: {fedAvg:F2} GB/s (reference)");
        foreach (var strategy in new[] { AggregationStrategy.Median, AggregationStrategy.TrimmedMean, AggregationStrategy.Krum })
        {
            var spec = new AggregationSpec { Strategy = strategy };
            // A robust round is short (a fraction of a second); more repeats cost little and ride out a noisy neighbour.
            var ours = FedAvgScenario.Throughput(spec, updates, repeats + 2);
            Console.WriteLine($"  {strategy} K={k} P={FedAvgScenario.Label(p)}: {ours:F2} GB/s");
            var isMedian = strategy == AggregationStrategy.Median;
            var row = $"{strategy} K={k} P={FedAvgScenario.Label(p)} vs FedAvg";
            yield return isMedian
                ? BenchmarkResult.Compare(row, ours, fedAvg, "GB/s", "≥ 0.1 × FedAvg", r => r >= 0.1)
                : BenchmarkResult.Report(row, ours, fedAvg, "GB/s");
        }
    }
}
