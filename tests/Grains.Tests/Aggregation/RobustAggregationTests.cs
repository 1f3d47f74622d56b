using Regatta.Grains.Aggregation;

namespace Regatta.Grains.Tests.Aggregation;

public class RobustAggregationTests
{
    // Four honest updates close to each other and, at index 0, one far away.
    //   e=[100,100] (0), a=[1,1] (1), b=[1,2] (2), c=[2,1] (3), d=[1.5,1.5] (4)
    private static readonly float[][] WithFarUpdate = [[100, 100], [1, 1], [1, 2], [2, 1], [1.5f, 1.5f]];

    [Fact]
    public void Median_with_odd_K()
    {
        float[][] updates = [[1, 10, -1], [2, 20, -2], [3, -30, 100]];
        // coord 0: {1,2,3} → 2;  coord 1: {-30,10,20} → 10;  coord 2: {-2,-1,100} → -1
        Assert.Equal([2f, 10f, -1f], RobustAggregation.CoordinateMedian(updates));
    }

    [Fact]
    public void Median_with_even_K_averages_the_two_middle_values()
    {
        float[][] updates = [[1, 10, -1], [2, 20, -2], [3, -30, 100], [4, 0, 0]];
        // coord 0: {1,2,3,4} → (2+3)/2 = 2.5;  coord 1: {-30,0,10,20} → (0+10)/2 = 5;  coord 2: {-2,-1,0,100} → (-1+0)/2 = -0.5
        Assert.Equal([2.5f, 5f, -0.5f], RobustAggregation.CoordinateMedian(updates));
    }

    [Fact]
    public void Trimmed_mean_drops_the_outlier_at_each_end()
    {
        float[][] updates = [[1, -5], [1000, 0], [2, 5], [3, 10], [4, -1000]];
        // K = 5, β = 0.2 → trim ⌊1⌋ = 1 from each end
        // coord 0: {1,2,3,4,1000} → drop 1 and 1000 → (2+3+4)/3 = 3
        // coord 1: {-1000,-5,0,5,10} → drop -1000 and 10 → (-5+0+5)/3 = 0
        Assert.Equal([3f, 0f], RobustAggregation.TrimmedMean(updates, 0.2));
        // β = 0.1 → ⌊0.5⌋ = 0: plain mean; coord 0: (1+1000+2+3+4)/5 = 202, coord 1: (-5+0+5+10-1000)/5 = -198
        Assert.Equal([202f, -198f], RobustAggregation.TrimmedMean(updates, 0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RobustAggregation.TrimmedMean(updates, 0.5));
    }

    [Fact]
    public void Krum_picks_the_honest_update_nearest_the_others()
    {
        // f = 1, K = 5 → each score sums the K − f − 2 = 2 smallest squared distances.
        // a: to b 1, c 1, d 0.5  → 0.5 + 1 = 1.5
        // b: to a 1, c 2, d 0.5  → 1.5;  c: to a 1, b 2, d 0.5 → 1.5
        // d: to a 0.5, b 0.5, c 0.5 → 1.0   (lowest)
        // e: to d 2·98.5² = 19404.5, b and c 99²+98² = 19405, a 2·99² = 19602 → 38809.5
        var scores = RobustAggregation.KrumScores(WithFarUpdate, 1);
        Assert.Equal([38809.5, 1.5, 1.5, 1.5, 1.0], scores);
        var result = RobustAggregation.Krum(WithFarUpdate, 1);
        Assert.Equal([4], result.Selected!);
        Assert.Equal([1.5f, 1.5f], result.Delta);
        Assert.NotSame(WithFarUpdate[4], result.Delta);
    }

    [Fact]
    public void Multi_Krum_averages_the_m_best_scored()
    {
        // Scores as above: d 1.0, then a, b, c at 1.5 (ties by index), e last.
        var two = RobustAggregation.MultiKrum(WithFarUpdate, 1, 2);
        // d and a: ([1.5,1.5] + [1,1]) / 2 = [1.25, 1.25]
        Assert.Equal([4, 1], two.Selected!);
        Assert.Equal([1.25f, 1.25f], two.Delta);
        var four = RobustAggregation.MultiKrum(WithFarUpdate, 1, 4);
        // d, a, b, c: ([1.5+1+1+2], [1.5+1+2+1]) / 4 = [1.375, 1.375]
        Assert.Equal([4, 1, 2, 3], four.Selected!);
        Assert.Equal([1.375f, 1.375f], four.Delta);
        Assert.Throws<ArgumentOutOfRangeException>(() => RobustAggregation.MultiKrum(WithFarUpdate, 1, 6));
    }

    [Fact]
    public void Krum_refuses_too_few_updates()
    {
        // f = 1 needs K ≥ 2·1 + 3 = 5
        var ex = Assert.Throws<ArgumentException>(() => RobustAggregation.Krum(WithFarUpdate[..4], 1));
        Assert.Contains("2f+3 = 5", ex.Message);
        Assert.Contains("got 4", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => RobustAggregation.Krum(WithFarUpdate, -1));
    }

    [Fact]
    public void Bad_update_sets_are_refused_with_the_problem_named()
    {
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => RobustAggregation.CoordinateMedian([])).Message);
        Assert.Contains("update 1 has 3 values", Assert.Throws<ArgumentException>(() => RobustAggregation.CoordinateMedian([[1, 2], [1, 2, 3]])).Message);
        Assert.Contains("update 1 contains non-finite", Assert.Throws<ArgumentException>(() => RobustAggregation.TrimmedMean([[1, 2], [1, float.PositiveInfinity]], 0)).Message);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 100_003)]
    [InlineData(8, 100_003)]
    [InlineData(33, 20_011)]
    [InlineData(128, 1_003)]  // largest sorting network
    [InlineData(129, 301)]    // above the sorting-network size: blocked quickselect, one thread
    [InlineData(130, 2_503)]  // blocked quickselect, parallel
    public void Blocked_parallel_median_and_trimmed_mean_match_a_naive_sort(int k, int length)
    {
        var rng = new Random(k * 7919 + length);
        // Coarse values so that ties are common.
        var updates = Enumerable.Range(0, k)
            .Select(_ => Enumerable.Range(0, length).Select(_ => (float)rng.Next(-20, 21) / 4).ToArray())
            .ToArray();
        var median = RobustAggregation.CoordinateMedian(updates);
        var trimmed = RobustAggregation.TrimmedMean(updates, 0.25);
        var trim = (int)Math.Floor(0.25 * k);
        var column = new float[k];
        for (var j = 0; j < length; j++)
        {
            for (var i = 0; i < k; i++) column[i] = updates[i][j];
            Array.Sort(column);
            var expectedMedian = k % 2 == 1 ? column[k / 2] : (column[k / 2 - 1] + column[k / 2]) / 2;
            Assert.Equal(expectedMedian, median[j]);
            double sum = 0;
            for (var i = trim; i < k - trim; i++) sum += column[i];
            Assert.Equal((float)(sum / (k - 2 * trim)), trimmed[j]);
        }
    }

    [Fact]
    public void Krum_scores_on_long_vectors_match_a_naive_double_computation()
    {
        const int k = 7, length = 100_003, f = 2;
        var rng = new Random(99);
        var updates = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, length).Select(_ => rng.NextSingle()).ToArray()).ToArray();
        var scores = RobustAggregation.KrumScores(updates, f);
        for (var i = 0; i < k; i++)
        {
            var d = new List<double>();
            for (var j = 0; j < k; j++)
            {
                if (j == i) continue;
                double s = 0;
                for (var x = 0; x < length; x++) s += ((double)updates[i][x] - updates[j][x]) * ((double)updates[i][x] - updates[j][x]);
                d.Add(s);
            }
            var expected = d.Order().Take(k - f - 2).Sum();
            Assert.Equal(expected, scores[i], expected * 1e-6);
        }
    }

    [Fact]
    public void Sorting_networks_sort_every_size()
    {
        static void Apply(int[] network, Span<int> v)
        {
            for (var p = 0; p < network.Length; p += 2)
                if (v[network[p]] > v[network[p + 1]])
                    (v[network[p]], v[network[p + 1]]) = (v[network[p + 1]], v[network[p]]);
        }
        // 0-1 principle: a comparator network sorts everything iff it sorts every 0/1 input.
        for (var k = 1; k <= 12; k++)
        {
            var network = SortingNetwork.For(k);
            var v = new int[k];
            for (var bits = 0; bits < 1 << k; bits++)
            {
                for (var i = 0; i < k; i++) v[i] = (bits >> i) & 1;
                Apply(network, v);
                for (var i = 1; i < k; i++) Assert.True(v[i - 1] <= v[i], $"K={k} input {bits}");
            }
        }
        var rng = new Random(3);
        for (var k = 1; k <= SortingNetwork.MaxSize; k++)
        {
            var network = SortingNetwork.For(k);
            for (var trial = 0; trial < 200; trial++)
            {
                var v = Enumerable.Range(0, k).Select(_ => rng.Next(100)).ToArray();
                var expected = v.Order().ToArray();
                Apply(network, v);
                Assert.Equal(expected, v);
            }
        }
    }

    [Fact]
    public void Quick_select_places_every_rank()
    {
        var rng = new Random(5);
        for (var n = 1; n < 80; n++)
        {
            var data = Enumerable.Range(0, n).Select(_ => (float)rng.Next(0, 10)).ToArray();
            var sorted = data.Order().ToArray();
            for (var r = 0; r < n; r++)
            {
                var copy = (float[])data.Clone();
                Assert.Equal(sorted[r], QuickSelect.Select(copy, r));
                for (var i = 0; i < r; i++) Assert.True(copy[i] <= copy[r]);
                for (var i = r + 1; i < n; i++) Assert.True(copy[i] >= copy[r]);
            }
        }
    }
}
