using Regatta.Grains.Aggregation;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Aggregation;

/// <summary>The blocked, batched, multi-core fold: same result however it is fed, and refusals leave the sum exactly as it was.</summary>
public class FedAvgKernelTests
{
    // Over one parallel chunk and not a multiple of the block, so the tail block and several threads are exercised.
    private const int Large = 3 * 256 * 1024 + FedAvgAccumulator.Block / 2 + 3;

    private static float[][] Deltas(int count, int length, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, length).Select(_ => rng.NextSingle() * 2 - 1).ToArray()).ToArray();
    }

    private static double Weight(int i) => 1 + 37 * (i % 11) + 0.5 * i;

    private static FedAvgAccumulator OneByOne(float[][] deltas, int length)
    {
        var acc = new FedAvgAccumulator(length);
        for (var i = 0; i < deltas.Length; i++) acc.Add(deltas[i], Weight(i));
        return acc;
    }

    private static WeightedDelta[] Batch(float[][] deltas) => deltas.Select((d, i) => new WeightedDelta(d, Weight(i))).ToArray();

    [Theory]
    [InlineData(1, 5)]
    [InlineData(3, FedAvgAccumulator.Block + 1)]
    [InlineData(FedAvgAccumulator.MaxBatch * 2 + 3, 1000)]
    [InlineData(FedAvgAccumulator.MaxBatch + 1, Large)]
    public void Batched_and_one_by_one_give_bit_identical_results(int count, int length)
    {
        var deltas = Deltas(count, length, seed: count * 31 + length);
        var single = OneByOne(deltas, length).Result();

        var batched = new FedAvgAccumulator(length);
        Assert.All(batched.AddRange(Batch(deltas)), r => Assert.Null(r));
        Assert.Equal(count, batched.Count);
        Assert.Equal(single, batched.Result());

        // Mixed: a few one at a time, then the rest in uneven batches.
        var mixed = new FedAvgAccumulator(length);
        var split = Math.Min(2, count);
        for (var i = 0; i < split; i++) mixed.Add(deltas[i], Weight(i));
        var rest = Batch(deltas).AsSpan(split);
        while (rest.Length > 0)
        {
            var n = Math.Min(rest.Length, 5);
            mixed.AddRange(rest[..n]);
            rest = rest[n..];
        }
        Assert.Equal(single, mixed.Result());
    }

    [Fact]
    public void Large_batched_round_matches_a_double_precision_reference()
    {
        const int count = 20;
        var deltas = Deltas(count, Large, seed: 7);
        var acc = new FedAvgAccumulator(Large);
        acc.AddRange(Batch(deltas));
        var result = acc.Result();
        var total = Enumerable.Range(0, count).Sum(i => (double)(float)Weight(i));
        Assert.Equal(total, acc.TotalWeight);
        double worst = 0;
        for (var x = 0; x < Large; x++)
        {
            double reference = 0;
            for (var i = 0; i < count; i++) reference += (float)Weight(i) * (double)deltas[i][x];
            worst = Math.Max(worst, Math.Abs(result[x] - reference / total));
        }
        Assert.True(worst < 1e-5, $"max abs error {worst}");
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void A_non_finite_value_anywhere_is_refused_and_the_sum_is_bit_for_bit_unchanged(float poison)
    {
        var deltas = Deltas(3, Large, seed: 11);
        var acc = OneByOne(deltas, Large);
        var before = acc.Result();

        foreach (var at in new[] { 0, Large / 2, Large - 1 })
        {
            var bad = (float[])deltas[0].Clone();
            bad[at] = poison;
            Assert.Contains("non-finite", Assert.Throws<ArgumentException>(() => acc.Add(bad, 10)).Message);
            Assert.Equal(3, acc.Count);
            Assert.Equal(before, acc.Result());
        }
    }

    [Fact]
    public void A_batch_refuses_only_its_bad_updates_and_folds_the_rest_in_order()
    {
        var deltas = Deltas(6, Large, seed: 5);
        var poisoned = deltas.Select(d => (float[])d.Clone()).ToArray();
        poisoned[1][Large - 2] = float.NaN;   // found in the last chunk, after the other chunks were folded
        poisoned[4][0] = float.PositiveInfinity;

        var acc = new FedAvgAccumulator(Large);
        acc.Add(deltas[0], 3); // a committed sum that the failed pass must not disturb
        var refused = acc.AddRange(Batch(poisoned));
        Assert.Equal([false, true, false, false, true, false], refused.Select(r => r is not null));
        Assert.Contains("non-finite", refused[1]);

        var expected = new FedAvgAccumulator(Large);
        expected.Add(deltas[0], 3);
        foreach (var i in new[] { 0, 2, 3, 5 }) expected.Add(deltas[i], Weight(i));
        Assert.Equal(5, acc.Count);
        Assert.Equal(expected.TotalWeight, acc.TotalWeight);
        Assert.Equal(expected.Result(), acc.Result());
    }

    [Fact]
    public void An_update_that_would_overflow_the_sum_is_refused_alone()
    {
        var acc = new FedAvgAccumulator(2);
        acc.Add([3e38f, 1], 1);
        var refused = acc.AddRange([new WeightedDelta(new float[] { 3e38f, 1 }, 1), new WeightedDelta(new float[] { -1, 1 }, 1)]);
        Assert.Contains("overflow", refused[0]);
        Assert.Null(refused[1]);
        Assert.Equal(2, acc.Count);
        Assert.Equal([(3e38f - 1) / 2, 1f], acc.Result());
        Assert.Contains("overflow", Assert.Throws<ArgumentException>(() => acc.Add([3e38f, 0], 1)).Message);
    }

    [Fact]
    public void A_refused_first_update_leaves_an_empty_accumulator()
    {
        var acc = new FedAvgAccumulator(Large);
        var bad = new float[Large];
        bad[^1] = float.NaN;
        Assert.Throws<ArgumentException>(() => acc.Add(bad, 1));
        Assert.Equal(0, acc.Count);
        Assert.Equal(0, acc.TotalWeight);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => acc.Result()).Message);
        var good = Deltas(1, Large, seed: 1)[0];
        acc.Add(good, 4);
        Assert.Equal(good, acc.Result());
    }

    [Fact]
    public void Bad_lengths_or_weights_in_a_batch_fold_nothing()
    {
        var acc = new FedAvgAccumulator(2);
        acc.Add([1, 1], 1);
        Assert.Contains("updates[1]", Assert.Throws<ArgumentException>(() => acc.AddRange([new WeightedDelta(new float[] { 1, 2 }, 1), new WeightedDelta(new float[] { 1 }, 1)])).ParamName);
        Assert.Contains("positive and finite", Assert.Throws<ArgumentException>(() => acc.AddRange([new WeightedDelta(new float[] { 1, 2 }, 1), new WeightedDelta(new float[] { 1, 2 }, 0)])).Message);
        Assert.Equal(1, acc.Count);
        Assert.Equal([1f, 1f], acc.Result());
    }

    [Fact]
    public void Weights_are_applied_per_update()
    {
        var acc = new FedAvgAccumulator(2);
        var refused = acc.AddRange([new WeightedDelta(new float[] { 1, 0 }, 1), new WeightedDelta(new float[] { 0, 1 }, 3)]);
        Assert.All(refused, r => Assert.Null(r));
        Assert.Equal(4, acc.TotalWeight);
        Assert.Equal([0.25f, 0.75f], acc.Result());
    }

    [Fact]
    public void A_recycled_result_is_reused_without_leaking_old_values()
    {
        var spec = new AggregationSpec { Strategy = AggregationStrategy.FedAvg };
        var first = RoundAggregator.Create(spec, Large);
        first.AddRange(Batch(Deltas(4, Large, seed: 2)));
        RoundAggregator.Recycle(first.Finish());

        var deltas = Deltas(3, Large, seed: 3);
        var second = RoundAggregator.Create(spec, Large);
        for (var i = 0; i < deltas.Length; i++) second.Add(deltas[i], Weight(i));
        Assert.Equal(OneByOne(deltas, Large).Result(), second.Finish().Delta);
    }

    [Fact]
    public void Buffered_strategies_take_batches_too()
    {
        var median = RoundAggregator.Create(new AggregationSpec { Strategy = AggregationStrategy.Median }, 2);
        var refused = median.AddRange([new WeightedDelta(new float[] { 1, 5 }, 1), new WeightedDelta(new float[] { float.NaN, 0 }, 1),
            new WeightedDelta(new float[] { 3, 1 }, 1), new WeightedDelta(new float[] { 2, 2 }, 1)]);
        Assert.Equal([false, true, false, false], refused.Select(r => r is not null));
        Assert.Equal(3, median.Count);
        Assert.Equal([2f, 2f], median.Finish().Delta);
    }

    [Fact]
    public void A_single_core_fold_gives_the_same_result()
    {
        var deltas = Deltas(5, Large, seed: 9);
        var parallel = OneByOne(deltas, Large).Result();
        FedAvgAccumulator.MaxDegreeOfParallelism = 1;
        try
        {
            Assert.Equal(parallel, OneByOne(deltas, Large).Result());
        }
        finally
        {
            FedAvgAccumulator.MaxDegreeOfParallelism = -1;
        }
    }

    // Past the non-temporal threshold, odd, so the stores' unaligned head and scalar tail are exercised.
    private const int Streamed = FedAvgAccumulator.NonTemporalLength + FedAvgAccumulator.Block + 13;

    [Theory]
    [InlineData(1, 5)]
    [InlineData(8, 5)]
    [InlineData(8, FedAvgAccumulator.Block + 1)]
    [InlineData(1, Streamed)]
    [InlineData(8, Streamed)]
    [InlineData(FedAvgAccumulator.MaxBatch, Large)]
    public void A_round_in_one_batch_hands_over_the_mean_bit_identical_to_dividing_the_sum(int count, int length)
    {
        // One AddRange of at most MaxBatch updates: the fold writes the mean too, and Finish hands it over.
        var deltas = Deltas(count, length, seed: count * 7 + length);
        var expected = OneByOne(deltas, length).Result(); // Result divides the committed sum (TensorPrimitives.Divide)
        var round = RoundAggregator.Create(new AggregationSpec { Strategy = AggregationStrategy.FedAvg }, length);
        Assert.All(round.AddRange(Batch(deltas)), r => Assert.Null(r));
        Assert.Equal(expected, round.Finish().Delta);
    }

    [Fact]
    public void Folding_after_the_mean_was_written_drops_it_and_divides_the_new_sum()
    {
        var deltas = Deltas(5, Streamed, seed: 13);
        var spec = new AggregationSpec { Strategy = AggregationStrategy.FedAvg };
        var round = RoundAggregator.Create(spec, Streamed);
        round.AddRange(Batch(deltas)[..3]); // first fold and last of its call: writes the mean
        round.Add(deltas[3], Weight(3));    // takes the mean's buffer as its scratch
        round.AddRange(Batch(deltas)[4..]);
        Assert.Equal(OneByOne(deltas, Streamed).Result(), round.Finish().Delta);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(Streamed / 2)]
    [InlineData(Streamed - 1)]
    public void A_refused_batch_that_would_have_written_the_mean_leaves_nothing_behind(int at)
    {
        var deltas = Deltas(4, Streamed, seed: 17);
        var poisoned = deltas.Select(d => (float[])d.Clone()).ToArray();
        poisoned[2][at] = float.NaN;
        var spec = new AggregationSpec { Strategy = AggregationStrategy.FedAvg };
        var round = RoundAggregator.Create(spec, Streamed);
        var refused = round.AddRange(Batch(poisoned));
        Assert.Equal([false, false, true, false], refused.Select(r => r is not null));
        // The others were folded one at a time after the batch failed; the round's mean is theirs.
        var expected = new FedAvgAccumulator(Streamed);
        foreach (var i in new[] { 0, 1, 3 }) expected.Add(deltas[i], Weight(i));
        Assert.Equal(expected.Result(), round.Finish().Delta);
    }

    [Fact]
    public void A_non_finite_update_leaves_a_streamed_sum_bit_for_bit_unchanged()
    {
        var deltas = Deltas(3, Streamed, seed: 19);
        var acc = new FedAvgAccumulator(Streamed);
        Assert.All(acc.AddRange(Batch(deltas)), r => Assert.Null(r));
        var before = acc.Result();
        foreach (var at in new[] { 0, 5, Streamed / 3, Streamed - 1 })
        {
            var bad = (float[])deltas[1].Clone();
            bad[at] = float.PositiveInfinity;
            Assert.Contains("non-finite", Assert.Throws<ArgumentException>(() => acc.Add(bad, 2)).Message);
            Assert.Equal(3, acc.Count);
            Assert.Equal(before, acc.Result());
        }
    }

    [Fact]
    public unsafe void The_divided_store_matches_TensorPrimitives_at_every_alignment_and_length()
    {
        var from = Deltas(1, 200, seed: 23)[0];
        var to = new float[256];
        foreach (var streaming in new[] { true, false })
            for (var offset = 0; offset < 16; offset++)
                for (var n = 0; n <= 40; n += 3)
                {
                    Array.Fill(to, -7f);
                    fixed (float* f = from)
                    fixed (float* t = to)
                        FedAvgAccumulator.StoreDivided(f, 3.7f, t + offset, n, streaming);
                    var expected = new float[n];
                    System.Numerics.Tensors.TensorPrimitives.Divide(from.AsSpan(0, n), 3.7f, expected);
                    Assert.Equal(expected, to.AsSpan(offset, n).ToArray());
                    Assert.All(to.AsSpan(0, offset).ToArray(), v => Assert.Equal(-7f, v));
                    Assert.All(to.AsSpan(offset + n).ToArray(), v => Assert.Equal(-7f, v));
                }
    }
}
