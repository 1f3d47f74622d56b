using Regatta.Grains.Models;
using Regatta.Grains.Runs;
using Regatta.Jobs;
using Regatta.Learning.Weights;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>
/// The round's data path on a real blob store and the real model runtime: updates are read, checked and folded, and
/// the candidate is the global model plus the weighted mean of the accepted deltas, the same after a reactivation.
/// </summary>
public sealed class RoundCandidatesTests(CoordinatorDisk disk) : IClassFixture<CoordinatorDisk>
{
    private readonly BlobStore _blobs = disk.Blobs;
    private readonly TorchModelRuntime _models = disk.Models;

    internal static RunSpec Spec(AggregationSpec? aggregation = null) => new()
    {
        Name = "candidates",
        Model = new ModelSpec { Name = "mlp", Parameters = new() { ["inputs"] = 4, ["hidden"] = 8, ["classes"] = 2 } },
        Data = new DataSpec { Source = "blobs", Partitions = 2, SamplesPerClient = 50, ValidationSamples = 100 },
        Aggregation = aggregation ?? new AggregationSpec { MaxUpdateNorm = 10 },
        Seed = 3,
    };

    /// <summary>A run in round 1 with the given global model stored and two members selected.</summary>
    internal static async Task<RunData> RunInRound(IBlobStore blobs, IModelRuntime models, RunSpec spec)
    {
        var data = new RunData { RunId = "rc", Spec = spec, Exists = true, State = RunState.RoundTrain };
        await new RoundCandidates(blobs, models).PublishInitial(data, DateTimeOffset.UnixEpoch);
        data.Current = new RoundProgress { Round = 1, Attempt = 1, Selected = ["a", "b", "c"] };
        return data;
    }

    internal static JobRecord TrainJob(string worker, string hash, double examples) => new()
    {
        JobId = $"rc.train.r1a1.{worker}",
        RunId = "rc",
        WorkerId = worker,
        Kind = JobKind.Train,
        Status = JobStatus.Closed,
        Result = JobResult.Success,
        OutputHash = hash,
        Metrics = new() { [MetricNames.Examples] = examples, [MetricNames.Loss] = 0.5 },
    };

    internal static ModelWeights Delta(ModelWeights like, float value) =>
        like.WithValues(Enumerable.Repeat(value, (int)like.ParameterCount).ToArray());

    [Fact]
    public async Task Candidate_is_the_global_plus_the_weighted_mean_delta_and_an_over_norm_update_is_refused()
    {
        var data = await RunInRound(_blobs, _models, Spec());
        var global = ModelWeights.FromBytes(await _blobs.ReadAllAsync(data.GlobalModelHash!));
        var candidates = new RoundCandidates(_blobs, _models);

        var (a, refusedA) = await candidates.Receive(data, TrainJob("a", await _blobs.PutAsync(Delta(global, 0.01f).ToBytes()), 10));
        var (b, refusedB) = await candidates.Receive(data, TrainJob("b", await _blobs.PutAsync(Delta(global, 0.04f).ToBytes()), 30));
        var (c, refusedC) = await candidates.Receive(data, TrainJob("c", await _blobs.PutAsync(Delta(global, 1e3f).ToBytes()), 10));
        Assert.Null(refusedA);
        Assert.Null(refusedB);
        Assert.Null(c);
        Assert.Contains("norm", refusedC);
        data.Current!.Accepted.AddRange([a!, b!]);

        var outcome = await candidates.Build(data);
        Assert.Null(outcome.Refusal);
        Assert.True(double.IsFinite(outcome.ValidationLoss));
        var candidate = ModelWeights.FromBytes(await _blobs.ReadAllAsync(outcome.CandidateHash!)).Flatten();
        var start = global.Flatten();
        const float mean = (0.01f * 10 + 0.04f * 30) / 40;
        for (var i = 0; i < start.Length; i++) Assert.Equal(start[i] + mean, candidate[i], 1e-6f);

        // A new activation folds the accepted updates again from their blobs: the same candidate, byte for byte.
        var again = await new RoundCandidates(_blobs, _models).Build(data);
        Assert.Equal(outcome.CandidateHash, again.CandidateHash);
    }

    [Fact]
    public async Task Unreadable_update_and_failed_job_are_refused_with_the_reason()
    {
        var data = await RunInRound(_blobs, _models, Spec());
        var candidates = new RoundCandidates(_blobs, _models);
        var (_, garbage) = await candidates.Receive(data, TrainJob("a", await _blobs.PutAsync([1, 2, 3]), 10));
        Assert.StartsWith("unreadable update", garbage);
        var (_, failed) = await candidates.Receive(data, TrainJob("b", "x", 10) with { Result = JobResult.Failure, Error = "out of memory" });
        Assert.Equal("out of memory", failed);
        var none = await candidates.Build(data);
        Assert.Null(none.CandidateHash);
        Assert.Equal("no accepted updates", none.Refusal);
    }
}
