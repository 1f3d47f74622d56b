using System.Numerics.Tensors;
using Regatta.Grains.Aggregation;
using Regatta.Grains.Runs;
using Regatta.Learning.Weights;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>
/// CandidateBuilder folds queued updates in batches (AddRange): the candidate must be bit for bit the one that adding
/// each update on its own, in arrival order, gives.
/// </summary>
public class CandidateBuilderTests
{
    private const int Updates = 21; // more than one kernel pass (16 updates) when all are folded at Build time

    [Theory]
    [InlineData(AggregationStrategy.FedAvg, false)]
    [InlineData(AggregationStrategy.FedAvg, true)]
    [InlineData(AggregationStrategy.FedAdam, false)]
    [InlineData(AggregationStrategy.Median, true)]
    [InlineData(AggregationStrategy.TrimmedMean, false)]
    public void Batched_folding_gives_the_candidate_of_one_by_one_folding(AggregationStrategy strategy, bool background)
    {
        var spec = new AggregationSpec { Strategy = strategy };
        var global = Weights(new Random(1), scale: 1);
        var rng = new Random(2);
        var updates = Enumerable.Range(0, Updates).Select(_ => (Delta: Weights(rng, scale: 0.01f), Examples: (double)rng.Next(1, 500))).ToList();

        var builder = new CandidateBuilder(1, 1, spec, global, "g", foldInBackground: background);
        for (var i = 0; i < updates.Count; i++)
        {
            Assert.Null(builder.Check(updates[i].Delta, updates[i].Examples, spec.MaxUpdateNorm));
            builder.Fold($"u{i}", updates[i].Delta, updates[i].Examples);
        }
        var (candidate, refusal, optimizer) = builder.Build(spec, null);
        Assert.Null(refusal);

        // Reference: one Add per update, then the same application to the global model.
        var one = RoundAggregator.Create(spec, (int)global.ParameterCount);
        foreach (var (delta, examples) in updates) one.Add(delta.Flatten(), examples);
        var expected = global.Flatten();
        var result = one.Finish();
        if (strategy == AggregationStrategy.FedAdam)
        {
            var adam = new FedAdam(expected.Length);
            adam.Apply(expected, result.Delta, spec.ServerLearningRate, spec.Beta1, spec.Beta2, spec.Epsilon);
            Assert.Equal(adam.State.M, optimizer!.M);
        }
        else
        {
            TensorPrimitives.Add(expected, result.Delta, expected);
        }
        Assert.Equal(expected, candidate!.Flatten());
    }

    [Fact]
    public void Each_update_is_folded_once_and_a_round_of_consecutive_builders_recycles_cleanly()
    {
        var spec = new AggregationSpec { Strategy = AggregationStrategy.FedAvg };
        var global = Weights(new Random(3), scale: 1);
        var delta = Weights(new Random(4), scale: 0.01f);
        for (var round = 1; round <= 3; round++)
        {
            // Rounds reuse the recycled delta of the round before: a stale value would show in the candidate.
            var builder = new CandidateBuilder(round, 1, spec, global, "g");
            builder.Fold("u", delta, 1); // weight 1: the mean is the delta exactly
            builder.Fold("u", delta, 1); // a repeated report is not counted twice
            var (candidate, refusal, _) = builder.Build(spec, null);
            Assert.Null(refusal);
            var expected = global.Flatten();
            TensorPrimitives.Add(expected, delta.Flatten(), expected);
            Assert.Equal(expected, candidate!.Flatten());
        }
    }

    [Fact]
    public void A_round_that_is_too_small_is_refused_with_the_reason()
    {
        var spec = new AggregationSpec { Strategy = AggregationStrategy.Krum, ByzantineClients = 1 };
        var global = Weights(new Random(5), scale: 1);
        var builder = new CandidateBuilder(1, 1, spec, global, "g");
        builder.Fold("a", Weights(new Random(6), 0.01f), 1);
        var (candidate, refusal, _) = builder.Build(spec, null);
        Assert.Null(candidate);
        Assert.Equal("Krum needs at least 5 updates, got 1", refusal);
    }

    /// <summary>Two tensors (the flat order matters), ~1.5 vectors of odd length so the scalar tails run too.</summary>
    private static ModelWeights Weights(Random rng, float scale) => new(
    [
        new NamedTensor("w", [7, 11], Values(rng, 77, scale)),
        new NamedTensor("b", [13], Values(rng, 13, scale)),
    ]);

    private static float[] Values(Random rng, int n, float scale) =>
        Enumerable.Range(0, n).Select(_ => (rng.NextSingle() * 2 - 1) * scale).ToArray();
}
