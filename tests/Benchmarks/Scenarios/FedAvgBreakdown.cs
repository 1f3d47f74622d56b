using System.Numerics.Tensors;
using Regatta.Grains.Aggregation;
using Regatta.Runs;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Where a FedAvg round's time goes, on the same updates, each in GB/s of update data against the single-thread
/// sequential read: the production round fed one <c>Add</c> per update (no batching: the sum is read and written
/// once per update); the production round on one core; the first-cut kernel this replaced (a finite-check pass,
/// then <see cref="TensorPrimitives.MultiplyAdd(ReadOnlySpan{float}, float, ReadOnlySpan{float}, Span{float})"/>
/// into a fresh zeroed sum); and the sequential read on every core, i.e. what the memory system gives both cores.
/// </summary>
public static class FedAvgBreakdown
{
    public static IEnumerable<BenchmarkResult> Run(Updates updates, int repeats)
    {
        var (k, p) = (updates.Count, updates.Length);
        var spec = new AggregationSpec { Strategy = AggregationStrategy.FedAvg };
        var read = FedAvgScenario.SequentialRead(updates, repeats);
        var label = $"K={k} P={FedAvgScenario.Label(p)}";

        var oneByOne = FedAvgScenario.Throughput(spec, updates, repeats, batched: false);
        var noRecycle = FedAvgScenario.Throughput(spec, updates, repeats, recycle: false);

        var batch = updates.Batch();
        var singleCore = Measure.GBps(updates.Bytes, Measure.BestOf(repeats, () =>
        {
            FedAvgAccumulator.MaxDegreeOfParallelism = 1;
            try { RoundAggregator.Recycle(FedAvgScenario.Round(spec, batch)); }
            finally { FedAvgAccumulator.MaxDegreeOfParallelism = -1; }
        }));

        var firstCut = Measure.GBps(updates.Bytes, Measure.BestOf(repeats, () =>
        {
            var sum = new float[p];
            for (var i = 0; i < k; i++)
            {
                if (!TensorPrimitives.IsFiniteAll<float>(updates[i])) throw new InvalidOperationException("benchmark updates must be finite");
                TensorPrimitives.MultiplyAdd(updates[i], (float)Updates.Examples(i), sum, sum);
            }
            GC.KeepAlive(sum);
        }));

        var sink = 0f;
        var readAllCores = Measure.GBps(updates.Bytes, Measure.BestOf(repeats, () =>
        {
            var cores = Environment.ProcessorCount;
            var partial = new float[cores];
            for (var i = 0; i < k; i++)
            {
                var u = updates[i];
                Parallel.For(0, cores, c =>
                {
                    var slice = (p + cores - 1) / cores;
                    var start = c * slice;
                    partial[c] += TensorPrimitives.Sum<float>(u.AsSpan(start, Math.Min(slice, p - start)));
                });
            }
            sink += partial.Sum();
        }));
        GC.KeepAlive(sink);

        Console.WriteLine($"  breakdown {label}: one Add per update {oneByOne:F2}, no Recycle {noRecycle:F2}, single core {singleCore:F2}, first-cut kernel {firstCut:F2}, read on all cores {readAllCores:F2} GB/s; read {read:F2} GB/s");
        yield return BenchmarkResult.Report($"FedAvg step: one Add per update (sum read+written per update) {label}", oneByOne, read, "GB/s");
        yield return BenchmarkResult.Report($"FedAvg step: batched round without Recycle (fresh result array per round) {label}", noRecycle, read, "GB/s");
        yield return BenchmarkResult.Report($"FedAvg step: batched round on one core {label}", singleCore, read, "GB/s");
        yield return BenchmarkResult.Report($"FedAvg step: first-cut kernel (check pass + MultiplyAdd per update, fresh sum) {label}", firstCut, read, "GB/s");
        yield return BenchmarkResult.Report($"FedAvg step: sequential read on all {Environment.ProcessorCount} cores {label}", readAllCores, read, "GB/s",
            "what the memory system gives every core; the single-thread read is the target's baseline");
    }
}
