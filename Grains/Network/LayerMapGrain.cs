using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Regatta.Grains.Models;
using Regatta.Learning.Weights;
using Regatta.Network;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Grains.Network;

[GenerateSerializer, Alias("regatta.LayerMapState")]
public sealed class LayerMapState
{
    [Id(0)] public ServedModel? Model { get; set; }
    /// <summary>Eligible workers and the memory they offer.</summary>
    [Id(1)] public Dictionary<string, long> Candidates { get; set; } = new();
    [Id(2)] public LayerMapView? View { get; set; }
}

/// <summary>
/// Keeps the served model and the layer plan, re-planning when a worker's serving facts or the settings change and
/// telling each worker whose range moved. The plan itself is <see cref="LayerPlanner"/>'s. Worker changes are
/// coalesced: each one updates the candidates and the plan follows once, <see cref="ReplanDelay"/> after the first
/// (a registration storm of 10k serving workers re-planned 10k times, each over all candidates); a read of the view
/// re-plans at once if changes are waiting.
/// </summary>
public sealed class LayerMapGrain(
    [PersistentState("layerMap", StoreNames.Regatta)] IPersistentState<LayerMapState> state,
    IOptions<NetworkOptions> options,
    IBlobStore blobs,
    TimeProvider time,
    ILogger<LayerMapGrain> logger) : Grain, ILayerMapGrain
{
    /// <summary>How long worker changes gather before the plan follows them.</summary>
    public static readonly TimeSpan ReplanDelay = TimeSpan.FromMilliseconds(200);

    private IGrainTimer? _pending; // set while worker changes wait for their re-plan
    // Who serves lives in memory: agents re-announce with every heartbeat, so it is back within one after a restart.
    private readonly Dictionary<string, Announcement> _announced = new(StringComparer.Ordinal);

    private LayerMapState Data => state.State;

    /// <summary>How long activation waits for a candidate's liveness before keeping it as stored.</summary>
    private static readonly TimeSpan CandidateCheck = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The stored candidates may be stale: after a silo restart nothing has told the map of workers that fell silent
    /// meanwhile. Asking each one wakes its grain, which goes Offline at once when its stored last-seen is too old, so
    /// readiness is right from the first read instead of after the liveness clock's next sweep.
    /// </summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Data.Candidates.Count == 0) return;
        var checks = Data.Candidates.Keys.Select(async id =>
        {
            try
            {
                var view = await GrainFactory.GetGrain<IWorkerOperatorGrain>(id).GetView().WaitAsync(CandidateCheck, cancellationToken);
                return (id, Gone: view.Approval != ApprovalStatus.Approved || view.Liveness == Liveness.Offline);
            }
            catch (Exception e) when (e is TimeoutException or OrleansException)
            {
                return (id, Gone: false); // busy or unreachable: its own grain tells the map when it goes offline
            }
        }).ToList();
        var gone = (await Task.WhenAll(checks)).Where(c => c.Gone).Select(c => c.id).ToList();
        if (gone.Count == 0) return;
        foreach (var id in gone) Data.Candidates.Remove(id);
        logger.LogInformation("Layer map: {Count} stored candidates went offline while the map was inactive; re-planning", gone.Count);
        _pending ??= this.RegisterGrainTimer(_ => Replan(), new GrainTimerCreationOptions(ReplanDelay, System.Threading.Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    public Task WorkerChanged(ServingCandidate candidate)
    {
        var known = Data.Candidates.TryGetValue(candidate.WorkerId, out var memory);
        var serving = candidate.Eligible && candidate.MemoryBytes > 0;
        if (serving == known && (!serving || memory == candidate.MemoryBytes)) return Task.CompletedTask;
        if (serving) Data.Candidates[candidate.WorkerId] = candidate.MemoryBytes;
        else
        {
            Data.Candidates.Remove(candidate.WorkerId);
            _announced.Remove(candidate.WorkerId);
        }
        // Stored with the plan: a silo lost before then forgets the change until that worker's next state write tells it again.
        _pending ??= this.RegisterGrainTimer(_ => Replan(), new GrainTimerCreationOptions(ReplanDelay, System.Threading.Timeout.InfiniteTimeSpan) { KeepAlive = true });
        return Task.CompletedTask;
    }

    public Task WorkerServing(string workerId, string? modelVersion, LayerRange? layers)
    {
        if (modelVersion is null || layers is null) _announced.Remove(workerId);
        else _announced[workerId] = new Announcement(modelVersion, layers);
        return Task.CompletedTask;
    }

    public async Task<LayerMapView> Replan()
    {
        _pending?.Dispose(); // this plan covers every change so far
        _pending = null;
        var model = await Model();
        var settings = await GrainFactory.GetGrain<INetworkSettingsGrain>(0).Get();
        var bytesPerBlock = (long)Math.Ceiling(model.ParametersPerBlock * NetworkLimits.BytesPerParameter(settings.Quantization, model.DType));
        var before = Data.View?.ModelVersion == model.Version ? Data.View.Assignments : new Dictionary<string, LayerRange>();
        var plan = LayerPlanner.Plan(model.Blocks, bytesPerBlock, settings.Replication,
            Data.Candidates.Select(c => new PlannerWorker(c.Key, c.Value, before.GetValueOrDefault(c.Key))));
        var view = new LayerMapView
        {
            ModelVersion = model.Version,
            Blocks = model.Blocks,
            Quantization = settings.Quantization,
            ReplicationTarget = settings.Replication,
            Assignments = new(plan.Assignments),
            Standby = new(plan.Standby),
            Replicas = [.. plan.Replicas],
            CoveragePercent = plan.CoveragePercent,
            ReadyForInference = plan.Ready,
            RecommendedWorkers = plan.RecommendedWorkers,
            BytesPerBlock = bytesPerBlock,
            PlannedAt = time.GetUtcNow(),
        };
        var previous = Data.View?.Assignments ?? new Dictionary<string, LayerRange>();
        var previousVersion = Data.View?.ModelVersion;
        Data.View = view;
        await state.WriteStateAsync();

        // Persist first, then tell the workers: a crash in between re-sends on the next re-plan, never loses the plan.
        var moved = view.Assignments.Where(a => previousVersion != view.ModelVersion || !previous.TryGetValue(a.Key, out var old) || old != a.Value)
            .Select(a => GrainFactory.GetGrain<IWorkerClusterGrain>(a.Key).SetLayers(a.Value, view.ModelVersion));
        var dropped = previous.Keys.Where(w => !view.Assignments.ContainsKey(w))
            .Select(w => GrainFactory.GetGrain<IWorkerClusterGrain>(w).SetLayers(null, null));
        await Task.WhenAll(moved.Concat(dropped));
        logger.LogInformation("Layer plan for {Version}: {Workers} workers assigned, planned coverage {Coverage}%, weakest block {Weakest} replicas, {Standby} on standby",
            view.ModelVersion[..12], view.Assignments.Count, plan.CoveragePercent, plan.WeakestReplicas, view.Standby.Count);
        return ServedCoverage.Apply(view, _announced);
    }

    public async Task<LayerMapView> GetView()
    {
        var model = await Model();
        return _pending is null && Data.View is { } view && view.ModelVersion == model.Version ? ServedCoverage.Apply(view, _announced) : await Replan();
    }

    public Task<ServedModel> GetModel() => Model();

    public async Task<ServedModel> ServeSeed(long seed)
    {
        var model = await new ServedModels(blobs).FromSeed(options.Value.ModelSpec(), seed);
        return await Switch(model);
    }

    public async Task<ServedModel> ServeCheckpoint(string runId, int? round = null)
    {
        Ids.Require(runId, "run_id");
        var run = await GrainFactory.GetGrain<IRunGrain>(runId).GetView();
        var checkpoint = run.Checkpoints.LastOrDefault(c => round is null || c.Round == round)
            ?? throw new RegattaException("no_checkpoint", round is null ? $"run '{runId}' has no checkpoint yet" : $"run '{runId}' has no checkpoint of round {round}");
        var weights = ModelWeights.FromBytes(await blobs.ReadAllAsync(checkpoint.ModelHash));
        var model = await new ServedModels(blobs).Publish(run.Spec.Model, weights, $"run:{runId}@{checkpoint.Round}");
        return await Switch(model);
    }

    public async Task<ServedModel> ServeFolder(string path)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Length > 4096 || !Path.IsPathFullyQualified(path))
            throw new RegattaException("bad_model_folder", "folder: must be an absolute folder path on the silo");
        return await Switch(await new ServedModels(blobs).FromFolder(path));
    }

    private async Task<ServedModel> Switch(ServedModel model)
    {
        Data.Model = model;
        await state.WriteStateAsync();
        logger.LogInformation("Serving {Source} as version {Version}: {Blocks} blocks", model.Source, model.Version[..12], model.Blocks);
        await Replan();
        return model;
    }

    /// <summary>The served model, published from the configured seed the first time it is needed.</summary>
    private async Task<ServedModel> Model()
    {
        if (Data.Model is { } model) return model;
        Data.Model = await new ServedModels(blobs).FromSeed(options.Value.ModelSpec(), options.Value.Seed);
        await state.WriteStateAsync();
        return Data.Model;
    }
}
