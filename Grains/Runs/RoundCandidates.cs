using Regatta.Grains.Aggregation;
using Regatta.Grains.Models;
using Regatta.Jobs;
using Regatta.Learning.Privacy;
using Regatta.Learning.Weights;
using Regatta.Runs;

namespace Regatta.Grains.Runs;

/// <summary>What aggregating a round gave: a stored candidate with its held-out evaluation, or why there is none.</summary>
/// <param name="OptimizerHash">The server optimiser state after this candidate (FedAdam); the run keeps it only if the candidate is accepted.</param>
/// <param name="Noised">Central DP noise was added to the aggregate: a release the run's accountant counts.</param>
public sealed record CandidateOutcome(int Round, int Attempt, string? CandidateHash, string? Refusal,
    double ValidationLoss = double.NaN, double ValidationAccuracy = double.NaN, string? OptimizerHash = null, bool Noised = false);

/// <summary>
/// A run's data path for its rounds: reads members' updates from the blob store, checks and folds them, and turns a
/// round's folds into a stored candidate evaluated on the coordinator's held-out set. Caches the global weights and
/// the round's <see cref="CandidateBuilder"/> between calls; after a reactivation it folds the accepted updates again
/// from their content-addressed blobs. One instance per RunGrain activation, called on its turn only.
/// </summary>
public sealed class RoundCandidates(IBlobStore blobs, IModelRuntime models, bool foldInBackground = true)
{
    private CandidateBuilder? _builder;
    private (string Hash, ModelWeights Weights)? _global;

    /// <summary>Forgets the round being folded (after a restore the global model changed under it).</summary>
    public void Reset() => _builder = null;

    /// <summary>
    /// Stores the run's initial model and its run kit. The initial model is content-addressed like every later version,
    /// so members fetch it the same way.
    /// </summary>
    public async Task PublishInitial(RunData data, DateTimeOffset now)
    {
        var spec = data.Spec!; // grain state may not be touched off the grain's scheduler
        var initial = await Task.Run(() => models.InitialWeights(spec));
        // Where round 1 starts from, on the same validation set as every round after: near chance for a fresh model.
        if (await Task.Run(() => models.Evaluate(spec, initial)) is { } before) (data.InitialLoss, data.InitialAccuracy) = before;
        data.GlobalModelHash = data.InitialModelHash = await blobs.PutAsync(initial.ToBytes());
        data.KitHash = await blobs.PutAsync(new RunKit
        {
            RunId = data.RunId,
            SpecYaml = RunSpecYaml.Write(spec),
            Model = spec.Model,
            InitialModelHash = data.GlobalModelHash,
            Data = spec.Data,
            MinAgentVersion = RunKit.CurrentMinAgentVersion,
            CreatedAt = now,
        }.ToBytes());
    }

    /// <summary>A member's closed train job: its update accepted into the round (checked and folded), or why it is refused.</summary>
    public async Task<(AcceptedUpdate? Accepted, string? Refusal)> Receive(RunData data, JobRecord job)
    {
        if (job.Result != JobResult.Success) return (null, job.Error ?? $"job {job.Result}");
        if (job.OutputHash is null) return (null, "no update was uploaded");
        var claimed = job.Metric(MetricNames.Examples);
        var examples = ExampleWeights.Weigh(data.Spec!, claimed); // the member's claim, clamped to its partition
        var refusal = await CheckAndFold(data, job.OutputHash, examples);
        return refusal is null
            ? (new AcceptedUpdate(job.WorkerId, job.JobId, job.OutputHash, examples, job.Metric(MetricNames.Loss), claimed), null)
            : (null, refusal);
    }

    /// <summary>Reads an uploaded update, checks it and folds it into the current round; null when accepted, else why not.</summary>
    public async Task<string?> CheckAndFold(RunData data, string updateHash, double examples)
    {
        ModelWeights update;
        try
        {
            update = ModelWeights.FromBytes(await blobs.ReadAllAsync(updateHash));
        }
        catch (Exception e) when (e is InvalidDataException or RegattaException or ArgumentException)
        {
            return "unreadable update: " + e.Message;
        }
        var builder = await Builder(data);
        update = Clipped(data.Spec!, update);
        var refusal = builder.Check(update, examples, data.Spec!.Aggregation.MaxUpdateNorm);
        if (refusal is not null) return refusal;
        builder.Fold(updateHash, update, examples);
        Telemetry.RegattaMetrics.UpdateAggregated(update.ParameterCount);
        return null;
    }

    /// <summary>Aggregates the current round's accepted updates into a stored, evaluated candidate.</summary>
    public async Task<CandidateOutcome> Build(RunData data)
    {
        var round = data.Current!;
        var spec = data.Spec!;
        var builder = await Builder(data);
        if (!builder.HasFolded(round.Accepted))
        {
            _builder = null;
            builder = await Builder(data);
        }
        FedAdamState? optimizer = data.ServerOptimizerHash is { } h ? ServerOptimizerBlob.FromBytes(await blobs.ReadAllAsync(h)) : null;
        var sumNoise = spec.Privacy.Dp is { Mode: DpMode.Central } dp ? dp.NoiseMultiplier * dp.ClipNorm : 0;
        var (candidate, refusal, newOptimizer) = await Task.Run(() => builder.Build(spec.Aggregation, optimizer, sumNoise));
        _builder = null;
        if (candidate is null) return new CandidateOutcome(round.Round, round.Attempt, null, refusal, Noised: builder.Noised);
        var evaluation = await Task.Run(() => models.Evaluate(spec, candidate));
        var (loss, accuracy) = evaluation ?? (double.NaN, double.NaN);
        if (evaluation is not null && !double.IsFinite(loss))
            return new CandidateOutcome(round.Round, round.Attempt, null, "server validation loss is not finite", Noised: builder.Noised);
        var hash = await blobs.PutAsync(candidate.ToBytes());
        var optimizerHash = newOptimizer is null ? null : await blobs.PutAsync(ServerOptimizerBlob.ToBytes(newOptimizer));
        return new CandidateOutcome(round.Round, round.Attempt, hash, null, loss, accuracy, optimizerHash, builder.Noised);
    }

    /// <summary>
    /// Secure aggregation: the candidate from the decoded sum of the survivors' vectors, each weight × update followed by
    /// the weight, so the weighted mean is the sum's first part over its last value. Central DP: the members clipped their
    /// own updates (and weigh 1), and the noise is added here, once, to the sum (σ · clipNorm), before dividing.
    /// </summary>
    public async Task<CandidateOutcome> BuildFromSum(RunData data, float[] sum)
    {
        var round = data.Current!;
        var spec = data.Spec!;
        var global = await Global(data);
        var length = checked((int)global.ParameterCount);
        if (sum.Length != length + 1) return new CandidateOutcome(round.Round, round.Attempt, null, $"the secure aggregate has {sum.Length} values, the model {length} + 1");
        var weight = sum[length];
        if (!(weight > 0)) return new CandidateOutcome(round.Round, round.Attempt, null, $"the secure aggregate's total weight is {weight}");
        var total = sum.AsSpan(0, length).ToArray();
        var noised = false;
        if (spec.Privacy.Dp is { Mode: DpMode.Central } dp && dp.NoiseMultiplier * dp.ClipNorm > 0)
        {
            GaussianMechanism.AddNoise(total, dp.NoiseMultiplier * dp.ClipNorm);
            noised = true;
        }
        System.Numerics.Tensors.TensorPrimitives.Divide(total, weight, total);
        FedAdamState? optimizer = data.ServerOptimizerHash is { } h ? ServerOptimizerBlob.FromBytes(await blobs.ReadAllAsync(h)) : null;
        var (candidate, refusal, newOptimizer) = CandidateBuilder.Apply(global, total, spec.Aggregation, optimizer);
        if (candidate is null) return new CandidateOutcome(round.Round, round.Attempt, null, refusal, Noised: noised);
        var evaluation = await Task.Run(() => models.Evaluate(spec, candidate));
        var (loss, accuracy) = evaluation ?? (double.NaN, double.NaN);
        if (evaluation is not null && !double.IsFinite(loss))
            return new CandidateOutcome(round.Round, round.Attempt, null, "server validation loss is not finite", Noised: noised);
        var hash = await blobs.PutAsync(candidate.ToBytes());
        var optimizerHash = newOptimizer is null ? null : await blobs.PutAsync(ServerOptimizerBlob.ToBytes(newOptimizer));
        return new CandidateOutcome(round.Round, round.Attempt, hash, null, loss, accuracy, optimizerHash, noised);
    }

    private async Task<CandidateBuilder> Builder(RunData data)
    {
        var round = data.Current!;
        if (_builder is { } c && c.Round == round.Round && c.Attempt == round.Attempt && c.GlobalHash == data.GlobalModelHash)
            return c;
        var global = await Global(data);
        var builder = new CandidateBuilder(round.Round, round.Attempt, data.Spec!.Aggregation, global, data.GlobalModelHash!, foldInBackground);
        // Reactivated mid-round: fold again what was accepted before, from the content-addressed blobs.
        foreach (var a in round.Accepted)
            builder.Fold(a.UpdateHash, Clipped(data.Spec!, ModelWeights.FromBytes(await blobs.ReadAllAsync(a.UpdateHash))), a.Examples);
        return _builder = builder;
    }

    /// <summary>
    /// Central DP bounds each member's influence by clipping its update to clipNorm, not by refusing it: a clipped update
    /// moves the (equally weighted) mean by at most clipNorm / n.
    /// </summary>
    private static ModelWeights Clipped(RunSpec spec, ModelWeights update)
    {
        if (spec.Privacy.Dp is not { Mode: DpMode.Central } dp) return update;
        var values = update.Flatten();
        GaussianMechanism.Clip(values, dp.ClipNorm);
        return update.WithValues(values);
    }

    private async Task<ModelWeights> Global(RunData data)
    {
        var hash = data.GlobalModelHash ?? throw new RegattaException("no_model", $"run '{data.RunId}' has no global model");
        if (_global is { } g && g.Hash == hash) return g.Weights;
        var weights = ModelWeights.FromBytes(await blobs.ReadAllAsync(hash));
        _global = (hash, weights);
        return weights;
    }
}

public static class JobMetrics
{
    /// <summary>A metric the job reported, or NaN.</summary>
    public static double Metric(this JobRecord job, string name) => job.Metrics.TryGetValue(name, out var v) ? v : double.NaN;
}
