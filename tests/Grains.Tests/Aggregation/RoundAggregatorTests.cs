using Regatta.Grains.Aggregation;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Aggregation;

public class RoundAggregatorTests
{
    // Four honest deltas and one attacker with a huge norm, all with 10 examples.
    //   a=[1,1], b=[1,2], c=[2,1], d=[1.5,1.5], attacker=[1e6,-1e6]
    private static readonly float[][] Honest = [[1, 1], [1, 2], [2, 1], [1.5f, 1.5f]];
    private static readonly float[] Attacker = [1e6f, -1e6f];

    private static AggregateResult Run(AggregationSpec spec)
    {
        var agg = RoundAggregator.Create(spec, 2);
        foreach (var u in Honest) agg.Add(u, 10);
        agg.Add(Attacker, 10);
        Assert.Equal(5, agg.Count);
        return agg.Finish();
    }

    [Fact]
    public void FedAvg_is_pulled_away_by_the_attacker()
    {
        var r = Run(new AggregationSpec { Strategy = AggregationStrategy.FedAvg });
        // equal weights: coord 0 (1+1+2+1.5+1e6)/5 = 200001.1, coord 1 (1+2+1+1.5-1e6)/5 = -199998.9
        Assert.Equal(200001.1, r.Delta[0], 0.05);
        Assert.Equal(-199998.9, r.Delta[1], 0.05);
        Assert.Null(r.Selected);
    }

    [Fact]
    public void Robust_strategies_ignore_the_attacker()
    {
        // Median: coord 0 {1,1,1.5,2,1e6} → 1.5;  coord 1 {-1e6,1,1,1.5,2} → 1
        Assert.Equal([1.5f, 1f], Run(new AggregationSpec { Strategy = AggregationStrategy.Median }).Delta);
        // Trimmed mean β = 0.2, K = 5 → trim 1: coord 0 (1+1.5+2)/3 = 1.5; coord 1 (1+1+1.5)/3 = 1.1666667
        var trimmed = Run(new AggregationSpec { Strategy = AggregationStrategy.TrimmedMean, TrimFraction = 0.2 }).Delta;
        Assert.Equal(1.5f, trimmed[0], 6);
        Assert.Equal(3.5f / 3, trimmed[1], 6);
        // Krum f = 1: d=[1.5,1.5] (index 3) has the lowest score (see RobustAggregationTests).
        var krum = Run(new AggregationSpec { Strategy = AggregationStrategy.Krum, ByzantineClients = 1 });
        Assert.Equal([3], krum.Selected!);
        Assert.Equal([1.5f, 1.5f], krum.Delta);
        // Multi-Krum m = 4: the four honest ones, best first (d, then a, b, c by index) → mean [1.375, 1.375]
        var multi = Run(new AggregationSpec { Strategy = AggregationStrategy.MultiKrum, ByzantineClients = 1, MultiKrumSelect = 4 });
        Assert.Equal([3, 0, 1, 2], multi.Selected!);
        Assert.Equal([1.375f, 1.375f], multi.Delta);
    }

    [Theory]
    [InlineData(AggregationStrategy.FedAvg, true)]
    [InlineData(AggregationStrategy.FedProx, true)]
    [InlineData(AggregationStrategy.FedAdam, true)]
    [InlineData(AggregationStrategy.Median, false)]
    [InlineData(AggregationStrategy.TrimmedMean, false)]
    [InlineData(AggregationStrategy.Krum, false)]
    [InlineData(AggregationStrategy.MultiKrum, false)]
    public void Streaming_flag_follows_the_strategy(AggregationStrategy strategy, bool streaming)
    {
        var agg = RoundAggregator.Create(new AggregationSpec { Strategy = strategy }, 4);
        Assert.Equal(streaming, agg.Streaming);
        Assert.Equal(streaming, RoundAggregator.IsStreaming(strategy));
        Assert.Equal(strategy, agg.Strategy);
    }

    [Theory]
    [InlineData(AggregationStrategy.FedProx)]
    [InlineData(AggregationStrategy.FedAdam)]
    public void FedProx_and_FedAdam_use_the_weighted_average(AggregationStrategy strategy)
    {
        var agg = RoundAggregator.Create(new AggregationSpec { Strategy = strategy }, 2);
        agg.Add([1, 0], 1);
        agg.Add([4, 3], 2);
        // (1·[1,0] + 2·[4,3]) / 3 = [3, 2]
        Assert.Equal([3f, 2f], agg.Finish().Delta);
    }

    [Fact]
    public void FedAdam_round_then_server_step()
    {
        var spec = new AggregationSpec { Strategy = AggregationStrategy.FedAdam, ServerLearningRate = 0.3, Beta1 = 0.5, Beta2 = 0.75, Epsilon = 1 };
        var agg = RoundAggregator.Create(spec, 2);
        agg.Add([2, -4], 5);
        agg.Add([2, -4], 7);
        float[] global = [1, 1];
        var adam = new FedAdam(2);
        adam.Apply(global, agg.Finish().Delta, spec.ServerLearningRate, spec.Beta1, spec.Beta2, spec.Epsilon);
        // average delta [2,-4]; one step as in FedAdamTests → [1.15, 0.8]
        Assert.Equal(1.15f, global[0], 6);
        Assert.Equal(0.8f, global[1], 6);
    }

    [Fact]
    public void Bad_input_is_refused_with_the_problem_named()
    {
        var avg = RoundAggregator.Create(new AggregationSpec(), 2);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => avg.Finish()).Message);
        Assert.Contains("3 values but the model has 2", Assert.Throws<ArgumentException>(() => avg.Add([1, 2, 3], 1)).Message);
        Assert.Contains("positive and finite", Assert.Throws<ArgumentException>(() => avg.Add([1, 2], double.NaN)).Message);

        var median = RoundAggregator.Create(new AggregationSpec { Strategy = AggregationStrategy.Median }, 2);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => median.Finish()).Message);
        Assert.Contains("non-finite", Assert.Throws<ArgumentException>(() => median.Add([float.NaN, 2], 1)).Message);
        Assert.Contains("positive and finite", Assert.Throws<ArgumentException>(() => median.Add([1, 2], -3)).Message);

        var krum = RoundAggregator.Create(new AggregationSpec { Strategy = AggregationStrategy.Krum, ByzantineClients = 1 }, 2);
        foreach (var u in Honest) krum.Add(u, 1);
        Assert.Contains("2f+3 = 5", Assert.Throws<ArgumentException>(() => krum.Finish()).Message);
        Assert.Equal(5, RoundAggregator.MinimumUpdates(new AggregationSpec { Strategy = AggregationStrategy.Krum, ByzantineClients = 1 }));

        Assert.Contains("TrimFraction", Assert.Throws<ArgumentException>(() => RoundAggregator.Create(new AggregationSpec { Strategy = AggregationStrategy.TrimmedMean, TrimFraction = 0.5 }, 2)).Message);
        Assert.Contains("ByzantineClients", Assert.Throws<ArgumentException>(() => RoundAggregator.Create(new AggregationSpec { Strategy = AggregationStrategy.Krum, ByzantineClients = -1 }, 2)).Message);
        Assert.Contains("MultiKrumSelect", Assert.Throws<ArgumentException>(() => RoundAggregator.Create(new AggregationSpec { Strategy = AggregationStrategy.MultiKrum, MultiKrumSelect = 0 }, 2)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => RoundAggregator.Create(new AggregationSpec(), 0));
    }

    [Fact]
    public void Finish_can_be_called_once()
    {
        var agg = RoundAggregator.Create(new AggregationSpec(), 1);
        agg.Add([2], 1);
        Assert.Equal([2f], agg.Finish().Delta);
        Assert.Throws<InvalidOperationException>(() => agg.Finish());
        Assert.Throws<InvalidOperationException>(() => agg.Add([1], 1));
    }
}
