using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Regatta.Jobs;
using Regatta.Learning.Data;
using Regatta.Learning.Models;
using Regatta.Learning.Privacy;
using Regatta.Learning.Training;
using Regatta.Learning.Weights;
using Regatta.Runs;
using Regatta.Workers;
using TorchSharp;

namespace Regatta.WorkerAgent;

/// <summary>Carries out one assignment with TorchSharp: train on the local partition, or witness a candidate.</summary>
/// <param name="compute">Shared by the virtual clients of a simulation: how many of them compute at once (null: no limit).</param>
/// <param name="secAgg">Sends a secure-aggregation message of a job through this worker's own grain (null: this runner cannot take part).</param>
/// <param name="shared">A simulation's partitions, built once for all its clients (null: this runner builds its own).</param>
public sealed class JobRunner(AgentOptions options, ModelTransfer transfer, ILogger logger, Action<JobProgress?> report, SemaphoreSlim? compute = null,
    Func<string, SecAggRequest, Task<SecAggReply>>? secAgg = null, SharedPartitions? shared = null)
{
    private readonly torch.Device _device = DeviceChoice.Resolve(options.Device);
    // Each run's partition is generated or loaded once, then reused every round.
    private readonly Dictionary<(string Run, int Partition), (Dataset Train, Dataset HoldOut)> _data = new();

    public Hardware DetectHardware()
    {
        var probe = HardwareProbe.Probe(_device);
        return new Hardware
        {
            DeviceKind = probe.DeviceKind,
            DeviceName = probe.DeviceName,
            VramBytes = probe.VramBytes,
            CpuCores = probe.CpuCores,
            RamBytes = probe.RamBytes,
            Capabilities = ["train", "witness", "mlp", "cnn", "transformer"],
            AgentVersion = typeof(JobRunner).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
        };
    }

    public async Task<JobOutcome> RunAsync(Assignment job, CancellationToken ct) => job.Kind switch
    {
        JobKind.Train => await Train(job, ct),
        JobKind.Witness or JobKind.Validate => await Witness(job, ct),
        JobKind.Provision => await Provision(job, ct),
        JobKind.Echo => new JobOutcome { Succeeded = true }, // answering at all, through this client, is the check
        _ => new JobOutcome { Succeeded = false, Error = $"this agent does not do {job.Kind} jobs", Stage = "assign" },
    };

    private async Task<JobOutcome> Train(Assignment job, CancellationToken ct)
    {
        if (!job.Spec.Privacy.SecureAggregation) return await Train(job, null, ct);
        if (secAgg is null) return new JobOutcome { Succeeded = false, Error = "this agent cannot take part in secure aggregation", Stage = "secagg" };
        using var session = new SecAggSession(job, secAgg, logger);
        await Stage("secagg", async () => { await session.ShareKeys(ct); return true; });
        if (options.Poison == "secagg-drop-after-share" || (options.Poison == "secagg-drop-after-share-once" && job.Attempt == 1))
            return new JobOutcome { Succeeded = false, Error = "left the secure aggregation after sharing its keys (fault injection)", Stage = "secagg" };
        return await Train(job, session, ct);
    }

    private async Task<JobOutcome> Train(Assignment job, SecAggSession? session, CancellationToken ct)
    {
        var global = await Download(job, job.ModelHash, ct);
        var (train, _) = await Partition(job, ct);
        var progress = new Progress<TrainProgress>(p =>
        {
            report(new JobProgress(job.JobId, p.TotalSteps > 0 ? Math.Clamp((double)p.Step / p.TotalSteps, 0, 1) : 0, $"epoch {p.Epoch} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4}"));
            if (p.Step % 20 == 0 || p.Step == p.TotalSteps)
                logger.LogInformation("{JobId} epoch {Epoch} step {Step}/{Total}: loss {Loss:F4}, {Rate:F0} samples/s", job.JobId, p.Epoch, p.Step, p.TotalSteps, p.Loss, p.SamplesPerSecond);
        });
        // TorchSharp dispose scopes belong to one thread: all tensor work of the job runs inside one synchronous call.
        var (result, local) = await Compute(() =>
        {
            using var scope = torch.NewDisposeScope();
            var model = ModelCatalog.Create(job.Spec.Model, job.Spec.Seed);
            WeightsIO.Load(model, global);
            model.to(_device);
            var trained = LocalTrainer.Train(model, train, job.Spec.Training, _device, LocalTrainer.RoundSeed(job.Spec.Seed, job.Round, job.Partition), progress, ct);
            return (trained, WeightsIO.Read(model));
        }, ct);
        var delta = Poison(UpdateMath.Delta(local, global));
        if (job.Spec.Privacy.Dp is { Mode: DpMode.Local } dp) // the coordinator never sees the clean update
            delta = GaussianMechanism.Privatize(delta, dp.ClipNorm, dp.NoiseMultiplier);
        string? hash = null;
        if (session is null) hash = await Stage("upload", () => transfer.UploadAsync(delta.ToBytes(), null, ct));
        else
        {
            var vector = SecureVector(job.Spec, delta, result.Examples);
            options.SecAggInputObserver?.Invoke(job.JobId, vector);
            await Stage("secagg", async () => { await session.Contribute(vector, ct); return true; });
        }
        logger.LogInformation("{JobId} trained {Examples} examples: loss {Loss:F4}, accuracy {Accuracy:F3}, {Rate:F0} samples/s",
            job.JobId, result.Examples, result.Loss, result.Accuracy, result.SamplesPerSecond);
        return new JobOutcome
        {
            Succeeded = true,
            OutputHash = hash,
            Metrics = new()
            {
                [MetricNames.Examples] = result.Examples,
                [MetricNames.Loss] = result.Loss,
                [MetricNames.Accuracy] = result.Accuracy,
                [MetricNames.SamplesPerSecond] = result.SamplesPerSecond,
            },
        };
    }

    /// <summary>
    /// What this member masks: its update times its FedAvg weight, then the weight, so the coordinator's sum divides into
    /// the weighted mean. The weight is its examples over a generator partition's size (at most 1), or 1 for a file
    /// source and under DP; central DP clips the update to clipNorm here, since the coordinator cannot see it to clip.
    /// </summary>
    public static float[] SecureVector(RunSpec spec, ModelWeights delta, double examples)
    {
        var values = delta.Flatten();
        if (spec.Privacy.Dp is { Mode: DpMode.Central } dp) GaussianMechanism.Clip(values, dp.ClipNorm);
        var generated = DataSource.Parse(spec.Data.Source, []) is { IsGenerator: true };
        var weight = spec.Privacy.Dp is null && generated && examples > 0
            ? (float)Math.Min(1, examples / Math.Max(1, spec.Data.SamplesPerClient))
            : 1f;
        var vector = new float[values.Length + 1];
        for (var i = 0; i < values.Length; i++) vector[i] = weight * values[i];
        vector[^1] = weight;
        return vector;
    }

    private async Task<JobOutcome> Witness(Assignment job, CancellationToken ct)
    {
        var candidate = await Download(job, job.ModelHash, ct);
        var baseline = job.BaseModelHash is { Length: > 0 } b ? await Download(job, b, ct) : null;
        var (_, holdOut) = await Partition(job, ct);
        var (result, baseLoss) = await Compute(() =>
        {
            using var scope = torch.NewDisposeScope();
            var model = ModelCatalog.Create(job.Spec.Model, job.Spec.Seed);
            WeightsIO.Load(model, candidate);
            model.to(_device);
            var evaluated = Evaluator.Evaluate(model, holdOut, _device);
            if (baseline is null) return (evaluated, double.NaN);
            WeightsIO.Load(model, baseline);
            model.to(_device);
            return (evaluated, Evaluator.Evaluate(model, holdOut, _device).Loss);
        }, ct);
        logger.LogInformation("{JobId} witnessed {Hash}: loss {Loss:F4} (current model {Base:F4}), accuracy {Accuracy:F3}",
            job.JobId, job.ModelHash[..12], result.Loss, baseLoss, result.Accuracy);
        var metrics = new Dictionary<string, double>
        {
            [MetricNames.Examples] = result.Examples,
            [MetricNames.Loss] = result.Loss,
            [MetricNames.Accuracy] = result.Accuracy,
        };
        if (double.IsFinite(baseLoss)) metrics["baseLoss"] = baseLoss;
        return new JobOutcome { Succeeded = true, OutputHash = job.ModelHash, Metrics = metrics };
    }

    /// <summary>Downloads the run kit (hash-checked), checks it is for this run and this agent, and gets the data and initial model ready.</summary>
    private async Task<JobOutcome> Provision(Assignment job, CancellationToken ct)
    {
        var bytes = await Stage("download", () => transfer.FetchAsync(job.ModelHash, null, ct));
        var kit = RunKit.FromBytes(bytes);
        if (kit.RunId != job.RunId)
            return new JobOutcome { Succeeded = false, Error = $"kit is for run '{kit.RunId}', not '{job.RunId}'", Stage = "download" };
        var mine = typeof(JobRunner).Assembly.GetName().Version ?? new Version(0, 0);
        if (!Version.TryParse(kit.MinAgentVersion, out var needed) || mine < needed)
            return new JobOutcome { Succeeded = false, Error = $"agent {mine.ToString(3)} is older than the kit's minimum {kit.MinAgentVersion}", Stage = "download" };
        await Download(job, kit.InitialModelHash, ct);
        var (train, holdOut) = await Partition(job, ct);
        logger.LogInformation("Run kit {Hash} for {RunId} confirmed: {Model} on {Source}", job.ModelHash[..12], kit.RunId, kit.Model.Name, kit.Data.Source);
        return new JobOutcome
        {
            Succeeded = true,
            OutputHash = job.ModelHash,
            Metrics = new() { ["kitBytes"] = bytes.Length, [MetricNames.Examples] = train.Count + holdOut.Count },
        };
    }

    private async Task<T> Compute<T>(Func<T> work, CancellationToken ct)
    {
        if (compute is null) return await Task.Run(work, ct);
        await compute.WaitAsync(ct);
        try { return await Task.Run(work, ct); }
        finally { compute.Release(); }
    }

    private async Task<ModelWeights> Download(Assignment job, string hash, CancellationToken ct)
    {
        var progress = new Progress<double>(f => report(new JobProgress(job.JobId, f, $"downloading {hash[..12]}")));
        var bytes = await Stage("download", () => transfer.FetchAsync(hash, progress, ct));
        return ModelWeights.FromBytes(bytes);
    }

    /// <summary>The member's partition, built on first use (generating or loading data is compute: it takes a slot).</summary>
    private async Task<(Dataset Train, Dataset HoldOut)> Partition(Assignment job, CancellationToken ct)
    {
        var spec = options.Data is { } local ? job.Spec.Data with { Source = local } : job.Spec.Data;
        if (!_data.TryGetValue((job.RunId, job.Partition), out var data))
        {
            data = await Compute(() => shared is null
                ? DataCatalog.Partition(spec, job.Partition, job.Spec.Seed, job.Spec.Model)
                : shared.Take(job.RunId, spec, job.Spec, job.Partition), ct);
            _data[(job.RunId, job.Partition)] = data;
            logger.LogInformation("Data for run {RunId}: partition {Partition} of {Source}, {Train} train / {HoldOut} held out",
                job.RunId, job.Partition, spec.Source, data.Train.Count, data.HoldOut.Count);
        }
        return data;
    }

    private ModelWeights Poison(ModelWeights delta) => options.Poison switch
    {
        "nan" => delta.WithValues(Enumerable.Repeat(float.NaN, (int)delta.ParameterCount).ToArray()),
        "huge" => delta.WithValues(delta.Flatten().Select(v => v * 1e6f + 1e3f).ToArray()),
        _ => delta,
    };

    private static async Task<T> Stage<T>(string stage, Func<Task<T>> work)
    {
        try { return await work(); }
        catch (Exception e) when (e is not OperationCanceledException) { throw new StageException(stage, e); }
    }

    public static string StageOf(Exception e) => e is StageException s ? s.Stage : "train";
}

/// <summary>A failure tagged with the stage it happened in (download, train, upload) for the report.</summary>
public sealed class StageException(string stage, Exception inner) : Exception($"{stage}: {inner.Message}", inner)
{
    public string Stage { get; } = stage;
}
