using System.Numerics.Tensors;
using Regatta.Grains.Aggregation;
using Regatta.Runs;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// FedAvg throughput: one round (Create → AddRange of the K updates → Finish) through the production
/// <see cref="RoundAggregator"/>, in GB/s of update data folded, against (b) one sequential read of the same bytes with
/// <see cref="TensorPrimitives.Sum(ReadOnlySpan{float})"/> on one thread (the cost of touching each byte once) and
/// (a) Flower's numpy FedAvg (<see cref="NumpyFedAvg"/>).
/// </summary>
public static class FedAvgScenario
{
    // Flower keeps K weighted copies besides its K inputs, in a second process beside ours: above this many bytes of
    // inputs (4 GiB held by numpy, and ours besides) the row is left out rather than measured at another K.
    public const long NumpyMaxBytes = 2L << 30;

    /// <param name="batched">Every update in one AddRange (else one Add each).</param>
    /// <param name="recycle">Give the result back with <see cref="RoundAggregator.Recycle"/> once used, as a caller that has
    /// applied it can — CandidateBuilder does (else every round allocates and page-faults a fresh model-sized result).</param>
    public static double Throughput(AggregationSpec spec, Updates updates, int repeats, bool batched = true, bool recycle = true)
    {
        var batch = updates.Batch();
        var elapsed = Measure.BestOf(repeats, () =>
        {
            var result = batched ? Round(spec, batch) : RoundOneByOne(spec, updates);
            if (recycle) RoundAggregator.Recycle(result);
        });
        return Measure.GBps(updates.Bytes, elapsed);
    }

    /// <summary>A round with every update handed over at once (the kernel folds up to 16 per pass over the sum).</summary>
    public static AggregateResult Round(AggregationSpec spec, Updates updates) => Round(spec, updates.Batch());

    public static AggregateResult Round(AggregationSpec spec, WeightedDelta[] batch)
    {
        var aggregator = RoundAggregator.Create(spec, batch[0].Delta.Length);
        var refused = aggregator.AddRange(batch);
        if (refused.Any(r => r is not null)) throw new InvalidOperationException("benchmark updates must all be accepted");
        return aggregator.Finish();
    }

    /// <summary>A round with one <c>Add</c> per update, as updates arriving one at a time are folded.</summary>
    public static AggregateResult RoundOneByOne(AggregationSpec spec, Updates updates)
    {
        var aggregator = RoundAggregator.Create(spec, updates.Length);
        for (var i = 0; i < updates.Count; i++)
            aggregator.Add(updates[i], Updates.Examples(i));
        return aggregator.Finish();
    }

    public static double SequentialRead(Updates updates, int repeats)
    {
        var sink = 0f;
        var elapsed = Measure.BestOf(repeats, () =>
        {
            for (var i = 0; i < updates.Count; i++)
                sink += TensorPrimitives.Sum<float>(updates[i]);
        });
        GC.KeepAlive(sink);
        return Measure.GBps(updates.Bytes, elapsed);
    }

    public static IEnumerable<BenchmarkResult> Run(Updates updates, int repeats, NumpyFedAvg numpy)
    {
        var (k, p) = (updates.Count, updates.Length);
        var spec = new AggregationSpec { Strategy = AggregationStrategy.FedAvg };
        var name = $"FedAvg K={k} P={Label(p)}";

        var ours = Throughput(spec, updates, repeats);
        var read = SequentialRead(updates, repeats);
        Console.WriteLine($"  {name}: {ours:F2} GB/s, sequential read {read:F2} GB/s");
        yield return BenchmarkResult.Compare($"{name} vs one sequential read (TensorPrimitives.Sum)", ours, read, "GB/s",
            "≥ 0.8 × read", r => r >= 0.8);

        if (updates.Bytes > NumpyMaxBytes)
        {
            Console.WriteLine($"  {name}: no Flower numpy row (its inputs and weighted copies would need {2 * updates.Bytes >> 30} GiB)");
            yield break;
        }
        var flower = numpy.Measure(k, p, repeats);
        if (flower.GBps is { } np)
        {
            Console.WriteLine($"  {name}: Flower numpy FedAvg {np:F2} GB/s");
            yield return BenchmarkResult.Compare($"{name} vs Flower FedAvg (numpy)", ours, np, "GB/s", "≥ 8 × numpy", r => r >= 8);
        }
        else
        {
            Console.WriteLine($"  {name}: Flower numpy baseline missing ({flower.Note})");
            yield return new BenchmarkResult($"{name} vs Flower FedAvg (numpy)", ours, null, "GB/s", null, "≥ 8 × numpy", false, flower.Note);
        }
    }

    public static string Label(int p) => p % (1 << 20) == 0 ? $"{p >> 20}M" : p.ToString();
}
