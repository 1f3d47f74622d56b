using System.Numerics;
using Regatta.Grains.Aggregation;

namespace Regatta.Grains.Tests.Aggregation;

/// <summary>
/// The vectorised median / trimmed mean (compiled straight-line network and the interpreted one) against a plain sort,
/// bit for bit: values are ordered by IEEE 754 total order (−0 before +0), as the SIMD min/max of the old float network did.
/// </summary>
public class LaneSortTests
{
    public static TheoryData<int> Sizes => [2, 3, 4, 5, 7, 8, 9, 10, 16, 17, 31, 32, 33, 48];

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Median_and_trimmed_mean_equal_a_sorted_reference_bit_for_bit(int k)
    {
        var updates = RandomUpdates(k, length: 40 * Vector<float>.Count, seed: k);
        foreach (var trim in new[] { -1, 0, k / 5, (k - 1) / 2 })
        {
            var expected = Reference(updates, trim);
            var compiled = new float[expected.Length];
            var interpreted = new float[expected.Length];
            Assert.Equal(expected.Length, LaneSort.Reduce(updates, trim, compiled, compiled: true));
            Assert.Equal(expected.Length, LaneSort.Reduce(updates, trim, interpreted, compiled: false));
            for (var j = 0; j < expected.Length; j++)
            {
                Assert.True(Bits(expected[j]) == Bits(compiled[j]), $"K={k} trim={trim} coordinate {j}: compiled {compiled[j]}, expected {expected[j]}");
                Assert.True(Bits(expected[j]) == Bits(interpreted[j]), $"K={k} trim={trim} coordinate {j}: interpreted {interpreted[j]}, expected {expected[j]}");
            }
        }
    }

    [Fact]
    public void Large_models_split_over_threads_give_the_same_result()
    {
        // Long enough for the parallel blocks; odd length so the scalar tail runs too.
        const int k = 9, length = 300_001;
        var updates = RandomUpdates(k, length, seed: 1);
        var median = RobustAggregation.CoordinateMedian(updates);
        var expected = Reference(updates, -1);
        for (var j = 0; j < length; j++) Assert.Equal(expected[j], median[j]);
    }

    [Fact]
    public void Selecting_networks_place_exactly_the_asked_ranks()
    {
        var rng = new Random(11);
        foreach (var k in new[] { 5, 8, 13, 32 })
            foreach (var (first, end) in new[] { ((k - 1) / 2, k / 2 + 1), (1, k - 1), (0, 1) })
            {
                var network = SortingNetwork.ForRanks(k, first, end);
                Assert.True(network.Length <= SortingNetwork.For(k).Length);
                for (var trial = 0; trial < 300; trial++)
                {
                    var v = Enumerable.Range(0, k).Select(_ => rng.Next(20)).ToArray();
                    var sorted = v.Order().ToArray();
                    for (var p = 0; p < network.Length; p += 2)
                        if (v[network[p]] > v[network[p + 1]])
                            (v[network[p]], v[network[p + 1]]) = (v[network[p + 1]], v[network[p]]);
                    Assert.Equal(sorted[first..end], v[first..end]);
                }
            }
        Assert.Throws<ArgumentOutOfRangeException>(() => SortingNetwork.ForRanks(8, 5, 5));
    }

    /// <summary>Coarse values (many ties), both signs of zero, and a few large magnitudes.</summary>
    private static float[][] RandomUpdates(int k, int length, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, length).Select(_ => rng.Next(10) switch
        {
            0 => 0f,
            1 => -0f,
            2 => rng.Next(2) == 0 ? 3e38f : -3e38f,
            _ => rng.Next(-12, 13) / 8f,
        }).ToArray()).ToArray();
    }

    private static float[] Reference(float[][] updates, int trim)
    {
        var k = updates.Length;
        var result = new float[updates[0].Length];
        var column = new float[k];
        for (var j = 0; j < result.Length; j++)
        {
            for (var i = 0; i < k; i++) column[i] = updates[i][j];
            Array.Sort(column, (a, b) => TotalOrderKey(a).CompareTo(TotalOrderKey(b)));
            if (trim < 0)
            {
                result[j] = k % 2 == 1 ? column[k / 2] : column[k / 2 - 1] * 0.5f + column[k / 2] * 0.5f;
                continue;
            }
            double sum = 0;
            for (var r = trim; r < k - trim; r++) sum += column[r];
            result[j] = (float)(sum / (k - 2 * trim));
        }
        return result;
    }

    private static int Bits(float value) => BitConverter.SingleToInt32Bits(value);

    /// <summary>IEEE 754 total order of finite floats as an int: −0 just below +0.</summary>
    private static int TotalOrderKey(float value)
    {
        var bits = BitConverter.SingleToInt32Bits(value);
        return bits ^ ((bits >> 31) & int.MaxValue);
    }
}
