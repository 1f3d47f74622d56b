using Regatta.Grains.Aggregation;

namespace Regatta.Grains.Tests.Aggregation;

public class FedAvgTests
{
    [Fact]
    public void Weighted_mean_of_two_updates()
    {
        var acc = new FedAvgAccumulator(3);
        acc.Add([1, 2, 3], 1);
        acc.Add([3, 6, -3], 3);
        // sum = 1·[1,2,3] + 3·[3,6,-3] = [10, 20, -6]; total weight 4 → [2.5, 5, -1.5]
        Assert.Equal(2, acc.Count);
        Assert.Equal(4, acc.TotalWeight);
        Assert.Equal([2.5f, 5f, -1.5f], acc.Result());
    }

    [Fact]
    public void Result_can_be_read_and_folding_continues()
    {
        var acc = new FedAvgAccumulator(2);
        acc.Add([4, 0], 2);
        Assert.Equal([4f, 0f], acc.Result());
        acc.Add([0, 6], 1);
        // (2·[4,0] + 1·[0,6]) / 3 = [8/3, 2]
        Span<float> into = stackalloc float[2];
        acc.WriteResult(into);
        Assert.Equal(8f / 3f, into[0], 6);
        Assert.Equal(2f, into[1], 6);
    }

    [Fact]
    public void Bad_input_is_refused_and_leaves_the_sum_untouched()
    {
        var acc = new FedAvgAccumulator(2);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => acc.Result()).Message);
        Assert.Contains("3 values but the model has 2", Assert.Throws<ArgumentException>(() => acc.Add([1, 2, 3], 1)).Message);
        Assert.Contains("positive and finite", Assert.Throws<ArgumentException>(() => acc.Add([1, 2], double.NaN)).Message);
        Assert.Contains("positive and finite", Assert.Throws<ArgumentException>(() => acc.Add([1, 2], 0)).Message);
        Assert.Contains("positive and finite", Assert.Throws<ArgumentException>(() => acc.Add([1, 2], double.PositiveInfinity)).Message);
        Assert.Contains("non-finite", Assert.Throws<ArgumentException>(() => acc.Add([1, float.NaN], 1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FedAvgAccumulator(0));
        Assert.Equal(0, acc.Count);
        acc.Add([1, 2], 5);
        Assert.Equal([1f, 2f], acc.Result());
    }

    [Fact]
    public void Streaming_over_a_large_vector_matches_a_double_precision_reference()
    {
        const int length = 4 * 1024 * 1024, clients = 8;
        var acc = new FedAvgAccumulator(length);
        var reference = new double[length];
        var delta = new float[length];
        var rng = new Random(1234);
        double total = 0;
        for (var c = 0; c < clients; c++)
        {
            for (var i = 0; i < length; i++) delta[i] = rng.NextSingle() * 2 - 1;
            double w = rng.Next(1, 1000);
            acc.Add(delta, w);
            for (var i = 0; i < length; i++) reference[i] += w * delta[i];
            total += w;
        }
        var result = acc.Result();
        double worst = 0;
        for (var i = 0; i < length; i++) worst = Math.Max(worst, Math.Abs(result[i] - reference[i] / total));
        // Values are in [-1, 1]; float32 rounding of 8 weighted terms stays far below 1e-5.
        Assert.True(worst < 1e-5, $"max abs error {worst}");
    }
}
