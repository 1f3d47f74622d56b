using System.Numerics.Tensors;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Where a FedAvg round's time goes, step by step on the same updates, so a missed FedAvg target comes with
/// its reason: the finite check each Add runs (<see cref="TensorPrimitives.IsFiniteAll{T}(ReadOnlySpan{T})"/>),
/// the fold (<see cref="TensorPrimitives.MultiplyAdd(ReadOnlySpan{float}, float, ReadOnlySpan{float}, Span{float})"/>
/// into one reused sum), and a fresh model-sized accumulator per round (allocation + first touch).
/// Each is reported in GB/s of update data against the sequential read.
/// </summary>
public static class FedAvgBreakdown
{
    public static IEnumerable<BenchmarkResult> Run(int k, int p, int repeats)
    {
        var updates = new Updates(k, p);
        var read = FedAvgScenario.SequentialRead(updates, repeats);
        var label = $"K={k} P={FedAvgScenario.Label(p)}";

        var allFinite = true;
        var check = Measure.GBps(updates.Bytes, Measure.BestOf(repeats, () =>
        {
            for (var i = 0; i < k; i++) allFinite &= TensorPrimitives.IsFiniteAll<float>(updates[i]);
        }));
        if (!allFinite) throw new InvalidOperationException("benchmark updates must be finite");

        var sum = new float[p];
        var fold = Measure.GBps(updates.Bytes, Measure.BestOf(repeats, () =>
        {
            for (var i = 0; i < k; i++) TensorPrimitives.MultiplyAdd(updates[i], (float)Updates.Examples(i), sum, sum);
        }));

        var touched = 0f;
        var allocate = Measure.GBps(updates.Bytes, Measure.BestOf(repeats, () =>
        {
            var fresh = new float[p];
            // A large array comes zeroed from the OS without being touched; the round's first fold pays the page
            // faults. Clearing it here touches every page the same way.
            fresh.AsSpan().Clear();
            touched += fresh[^1];
        }));
        GC.KeepAlive(touched);

        Console.WriteLine($"  breakdown {label}: finite check {check:F2}, fold {fold:F2}, fresh accumulator {allocate:F2} GB/s-equivalent; read {read:F2} GB/s");
        yield return BenchmarkResult.Compare($"FedAvg step: finite check (IsFiniteAll) {label}", check, read, "GB/s", "report", _ => true);
        yield return BenchmarkResult.Compare($"FedAvg step: fold (MultiplyAdd into a reused sum) {label}", fold, read, "GB/s", "report", _ => true);
        yield return BenchmarkResult.Compare($"FedAvg step: fresh accumulator per round {label}", allocate, read, "GB/s", "report", _ => true,
            "K×P×4 bytes / time to allocate and first touch one P-float array");
    }
}
