using Regatta.Grains.Aggregation;
using Regatta.Runs;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Memory a streaming FedAvg round holds beyond the global model, for K = 8 and K = 64. The figure is the
/// bytes allocated between Create and Finish (<see cref="GC.GetTotalAllocatedBytes(bool)"/>, precise) with the
/// pool of scratch buffers emptied first, so that the scratch a round would otherwise take from the previous
/// round is counted too: the aggregator frees nothing mid-round, so this bounds what it held at its peak (the
/// running sum, handed out as the result, plus the scratch the fold writes into). The caller's global model and
/// the incoming updates are not counted (they exist without the aggregator).
/// Flower, by comparison, holds about 2K model copies (every client's arrays plus their weighted copies).
/// </summary>
public static class MemoryScenario
{
    public static long RoundBytes(Updates updates)
    {
        var spec = new AggregationSpec { Strategy = AggregationStrategy.FedAvg };
        var batch = updates.Batch(); // the round's inputs: allocated before the measurement, like arriving updates
        FedAvgScenario.Round(spec, new Updates(1, 1024)); // JIT outside the measurement
        FedAvgAccumulator.ReleasePooledBuffers();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        // One Add per update, as CandidateBuilder folds them: from the second update on the fold needs its scratch.
        var aggregator = RoundAggregator.Create(spec, updates.Length);
        foreach (var update in batch) aggregator.Add(update.Delta.Span, update.Examples);
        var result = aggregator.Finish();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        GC.KeepAlive(result);
        return allocated;
    }

    public static IEnumerable<BenchmarkResult> Run(Updates updates, int[] ks)
    {
        var p = updates.Length;
        var model = (long)p * sizeof(float);
        var figures = ks.Select(k => (K: k, Bytes: RoundBytes(updates.WithCount(k)))).ToList();
        var spread = figures.Max(f => f.Bytes) - figures.Min(f => f.Bytes);
        // "The same for both K": within 1% of the model size (a few small objects may differ). The bound allows the
        // round's bookkeeping (a few KB of small objects: closures, the result record) on top of two model-sized buffers.
        var sameForAllK = spread <= model / 100;
        // Each Add allocates ~2 KB (closures, Parallel.For state): 1% of the model is the same tolerance as across K.
        var bookkeeping = model / 100;
        foreach (var (k, bytes) in figures)
        {
            Console.WriteLine($"  FedAvg memory K={k} P={FedAvgScenario.Label(p)}: {bytes / 1e6:F1} MB held, model {model / 1e6:F1} MB");
            yield return BenchmarkResult.Compare($"FedAvg round memory beyond the global model, K={k} P={FedAvgScenario.Label(p)}",
                bytes / 1e6, model / 1e6, "MB", "≤ 2 × model, same for every K", _ => bytes <= 2 * model + bookkeeping && sameForAllK,
                sameForAllK ? $"sum + scratch = 2 × model, plus {(bytes - 2 * model) / 1024.0:F1} KB of small objects" : $"differs across K by {spread / 1e6:F1} MB");
        }
    }
}
