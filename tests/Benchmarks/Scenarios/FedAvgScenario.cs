using System.Numerics.Tensors;
using Regatta.Grains.Aggregation;
using Regatta.Runs;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// FedAvg throughput: one round (Create → Add × K → Finish) through the production <see cref="RoundAggregator"/>,
/// in GB/s of update data folded, against (b) one sequential read of the same bytes with
/// <see cref="TensorPrimitives.Sum(ReadOnlySpan{float})"/> (the memory-bandwidth ceiling of a single pass)
/// and (a) Flower's numpy FedAvg (<see cref="NumpyFedAvg"/>).
/// </summary>
public static class FedAvgScenario
{
    public static double Throughput(AggregationSpec spec, Updates updates, int repeats)
    {
        var elapsed = Measure.BestOf(repeats, () => Round(spec, updates));
        return Measure.GBps(updates.Bytes, elapsed);
    }

    public static AggregateResult Round(AggregationSpec spec, Updates updates)
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

    public static IEnumerable<BenchmarkResult> Run(int k, int p, int repeats, NumpyFedAvg numpy)
    {
        var updates = new Updates(k, p);
        var spec = new AggregationSpec { Strategy = AggregationStrategy.FedAvg };
        var name = $"FedAvg K={k} P={Label(p)}";

        var ours = Throughput(spec, updates, repeats);
        var read = SequentialRead(updates, repeats);
        Console.WriteLine($"  {name}: {ours:F2} GB/s, sequential read {read:F2} GB/s");
        yield return BenchmarkResult.Compare($"{name} vs one sequential read (TensorPrimitives.Sum)", ours, read, "GB/s",
            "≥ 0.8 × read", r => r >= 0.8);

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
