using Regatta.Grains.Runs;
using Regatta.Learning.Weights;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>
/// A member's claimed example count is its FedAvg weight: a hostile member claiming 10^30 examples must weigh no more
/// than an honest member of the same partition size, and the clamp is recorded in the run's reports.
/// </summary>
public class ExampleWeightTests
{
    private static readonly DataSpec Generated = new() { Source = "blobs", SamplesPerClient = 600, Partitions = 3 };
    private static readonly AggregationSpec FedAvg = new() { Strategy = AggregationStrategy.FedAvg, MaxUpdateNorm = 0 };

    [Fact]
    public void A_member_claiming_1e30_examples_moves_the_aggregate_no_more_than_its_fair_share()
    {
        var global = Weights(new Random(1), 1f);
        var honest = Enumerable.Range(0, 2).Select(i => Weights(new Random(10 + i), 0.01f)).ToList();
        var hostile = Weights(new Random(99), 1f); // a large push in one direction

        // What the round gives when the hostile member claims what an honest one with a full partition would.
        var fair = Aggregate(global, [(honest[0], 600), (honest[1], 600), (hostile, 600)]);
        // The same round with the hostile member claiming 10^30 examples, weighed by the rule.
        var claimed = Aggregate(global, [(honest[0], 600), (honest[1], 600), (hostile, 1e30)]);
        // Without the rule its update would be the aggregate: the test can tell the difference.
        var unclamped = Aggregate(global, [(honest[0], 600), (honest[1], 600), (hostile, 1e30)], clamp: false);

        Assert.Equal(fair, claimed);
        var pushUnclamped = Distance(unclamped, fair);
        Assert.True(pushUnclamped > 0.1, $"the unclamped aggregate should follow the hostile update (moved {pushUnclamped})");
        // Its share of the weight is at most 1/3, as for every full partition.
        var weight = ExampleWeights.Weigh(Generated, 1e30);
        Assert.Equal(600, weight);
        Assert.True(weight / (600 + 600 + weight) <= 1.0 / 3 + 1e-12);
    }

    [Theory]
    [InlineData(100, 100)]   // an honest partial claim is kept
    [InlineData(600, 600)]
    [InlineData(601, 600)]
    [InlineData(1e30, 600)]
    public void Generator_sources_clamp_a_claim_to_samples_per_client(double claimed, double weight) =>
        Assert.Equal(weight, ExampleWeights.Weigh(Generated, claimed));

    [Theory]
    [InlineData("csv:/data/train.csv")]
    [InlineData("text:/data/corpus.txt")]
    public void File_sources_weigh_every_member_equally(string source)
    {
        var data = Generated with { Source = source };
        Assert.Null(ExampleWeights.PartitionCap(data));
        Assert.Equal(1, ExampleWeights.Weigh(data, 12));
        Assert.Equal(1, ExampleWeights.Weigh(data, 1e30));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_claim_that_is_not_a_positive_count_is_left_for_the_update_check_to_refuse(double claimed)
    {
        var weight = ExampleWeights.Weigh(Generated, claimed);
        Assert.NotNull(Regatta.Grains.Aggregation.UpdateCheck.Check(Weights(new Random(1), 1f), Weights(new Random(2), 0.01f), weight, 0));
    }

    [Fact]
    public void The_clamp_is_recorded_in_the_run_reports()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Data = Generated });
        h.BeginFirstRound("w1", "w2");
        var jobId = h.Round.TrainJobs["w2"];
        var update = new AcceptedUpdate("w2", jobId, "update-w2", ExampleWeights.Weigh(Generated, 1e30), 1.0, ClaimedExamples: 1e30);

        Assert.True(h.Run.TrainReported("w2", jobId, update, null));
        h.ReportTrain("w1", examples: 400);

        var report = Assert.Single(h.Data.Reports, r => r.Source == "w2");
        Assert.Equal("warning", report.Severity);
        Assert.Contains("claimed 1E+30 examples; weighed as 600", report.Message);
        Assert.DoesNotContain(h.Data.Reports, r => r.Source == "w1"); // an honest claim is not reported
        Assert.Equal(600, h.Data.Current!.Accepted.Single(a => a.WorkerId == "w2").Examples);
    }

    private static float[] Aggregate(ModelWeights global, List<(ModelWeights Delta, double Claimed)> updates, bool clamp = true)
    {
        var builder = new CandidateBuilder(1, 1, FedAvg, global, "g", foldInBackground: false);
        for (var i = 0; i < updates.Count; i++)
        {
            var weight = clamp ? ExampleWeights.Weigh(Generated, updates[i].Claimed) : updates[i].Claimed;
            Assert.Null(builder.Check(updates[i].Delta, weight, FedAvg.MaxUpdateNorm));
            builder.Fold($"u{i}", updates[i].Delta, weight);
        }
        var (candidate, refusal, _) = builder.Build(FedAvg, null);
        Assert.Null(refusal);
        return candidate!.Flatten();
    }

    private static double Distance(float[] a, float[] b) => Math.Sqrt(a.Zip(b, (x, y) => (double)(x - y) * (x - y)).Sum());

    private static ModelWeights Weights(Random rng, float scale) => new(
    [
        new NamedTensor("w", [7, 11], Values(rng, 77, scale)),
        new NamedTensor("b", [13], Values(rng, 13, scale)),
    ]);

    private static float[] Values(Random rng, int n, float scale) =>
        Enumerable.Range(0, n).Select(_ => (rng.NextSingle() * 2 - 1) * scale).ToArray();
}
