using System.Numerics.Tensors;
using Regatta.Learning.Privacy.SecureAggregation;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Secure aggregation's cost for n members with P-value updates (report only, no target). Time: one whole masking
/// round in one process (every member's key agreement, sharing, masking and the coordinator's unmasking, run one
/// after another: the members' part would run in parallel on their own machines) against the plain round's
/// aggregation, the coordinator summing n float updates. Bytes: what one member sends in the round, against the plain
/// update upload (4 bytes a value). t = n/2 + 1; no dropouts.
/// </summary>
public static class SecureAggregationScenario
{
    public static IEnumerable<BenchmarkResult> Run(int[] memberCounts, int length, int repeats)
    {
        foreach (var n in memberCounts)
        {
            var random = new Random(n);
            var updates = Enumerable.Range(1, n).ToDictionary(m => m, _ => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray());
            var settings = new SecAggSettings(n / 2 + 1, length, Range: 1f, MaxMembers: n);
            SecAggSimulation.Outcome? outcome = null;
            var masked = Measure.BestOf(repeats, () => outcome = SecAggSimulation.Run(settings, updates));
            if (outcome?.Sum is null) throw new InvalidOperationException("the benchmark round failed: " + outcome?.Coordinator.Failure);
            var plain = Measure.BestOf(repeats + 2, () =>
            {
                var sum = new float[length];
                foreach (var u in updates.Values) TensorPrimitives.Add(sum, u, sum);
                GC.KeepAlive(sum);
            });
            var bytes = outcome.BytesSent.Values.Average();
            var label = $"n={n} P={length:N0}";
            Console.WriteLine($"  {label}: secure round {masked.TotalMilliseconds:F0} ms, plain sum {plain.TotalMilliseconds:F2} ms, {bytes:N0} bytes per member (plain {4 * length:N0})");
            yield return BenchmarkResult.Report($"Secure aggregation round time {label} vs plain sum", masked.TotalMilliseconds, plain.TotalMilliseconds, "ms",
                "all members and the coordinator in one process, one after another");
            yield return BenchmarkResult.Report($"Secure aggregation bytes sent per member {label} vs plain upload", bytes, 4.0 * length, "bytes");
        }
    }
}
