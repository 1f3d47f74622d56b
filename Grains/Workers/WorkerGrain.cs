using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Regatta.Grains.Security;
using Regatta.Jobs;
using Regatta.Network;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Grains.Workers;

/// <summary>
/// A worker machine: registration facts, approval, liveness from heartbeats, and the queue of jobs runs hand it.
/// Agents long-poll <see cref="NextAssignment"/>; the silo's <see cref="WorkerLivenessClock"/> has the worker marked
/// Offline when heartbeats stop.
/// </summary>
public sealed class WorkerGrain(
    [PersistentState("worker", StoreNames.Regatta)] IPersistentState<WorkerData> state,
    IOptions<CoordinatorOptions> options,
    TimeProvider time,
    WorkerLivenessClock clock,
    ILogger<WorkerGrain> logger) : Grain, IWorkerGrain, IWorkerOperatorGrain, IWorkerClusterGrain, IWorkerLiveness
{
    private const int RecentJobsKept = 50;
    // The agent's long-poll(s) waiting for a job, made when an agent first waits: an idle worker grain holds none
    // (its footprint counts at 10k workers).
    private Waiter? _waiting;
    // Fields are few and small on purpose: an idle worker's activation is counted at 10k workers (≤ 4 KB each).
    private long _lastWriteTicks;
    private long _toldOffer = -1; // the serving memory last told to the layer map (0: not serving); -1: nothing told yet
    // The agent's serving endpoint lives only in memory: it re-announces itself with every heartbeat.
    private Serving? _server;
    private BlobAccessRules? _blobs;

    private sealed record Serving(IBlockServer Server, string Version, LayerRange Layers);

    /// <summary>
    /// Long-polls waiting for the next job. An assignment that finds one waiting is handed straight to it, stored as
    /// delivered in the same write that stores the assignment (one worker write per job instead of two on the path a
    /// round start waits on).
    /// </summary>
    private sealed class Waiter
    {
        public readonly TaskCompletionSource<Assignment?> Handed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Polls;     // polls waiting on it now
        public bool Claimed;  // an assignment is being stored as delivered to it: a poll timing out must still take it
        public bool Taken;    // a poll has returned it (the others look again)
    }

    private WorkerData Data => state.State;
    private string WorkerId => this.GetPrimaryKeyString();
    private TimeSpan Timeout => options.Value.HeartbeatTimeout;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Data.Approval == ApprovalStatus.Unregistered || Data.Liveness == Liveness.Offline) return Task.CompletedTask;
        if (IsSilent())
        {
            // Silent past the timeout while no silo watched it (a restart, a long deactivation): Offline from the first read.
            // Leaving its runs calls other grains, which may be calling this one: that is done in the first turn after activation.
            Data.Liveness = Liveness.Offline;
            Data.Progress = null;
            IGrainTimer? once = null;
            once = this.RegisterGrainTimer(async token =>
            {
                once?.Dispose();
                await LeaveWhileSilent(token);
            }, new GrainTimerCreationOptions(TimeSpan.Zero, System.Threading.Timeout.InfiniteTimeSpan));
        }
        else Watch();
        return Task.CompletedTask;
    }

    private bool IsSilent() => time.GetUtcNow() - Data.LastSeen > Timeout;

    /// <summary>Carries out going Offline on activation (<see cref="OnActivateAsync"/>), unless the agent has been heard from since.</summary>
    private async Task LeaveWhileSilent(CancellationToken cancellationToken)
    {
        if (Data.Liveness != Liveness.Offline) return;
        logger.LogWarning("Worker {WorkerId} is offline: no heartbeat since {LastSeen}", WorkerId, Data.LastSeen);
        await LeaveRuns($"offline: no heartbeat for {Timeout.TotalSeconds:0.#} s");
        await Save();
    }

    public async Task<WorkerRegistered> Register(WorkerRegistration registration)
    {
        var problems = WorkerRules.RegistrationProblems(registration);
        if (problems is not null) throw new RegattaException("bad_registration", problems);
        var credential = await IssueCredential();
        var now = time.GetUtcNow();
        if (Data.Approval is ApprovalStatus.Unregistered)
        {
            Data.Approval = ApprovalStatus.Pending;
            Data.RegisteredAt = now;
        }
        Data.Name = registration.Name;
        Data.Hardware = registration.Hardware;
        Data.LastSeen = now;
        Data.Liveness = Liveness.Online;
        Data.Delivered.Clear(); // a (re)started agent has none of its earlier assignments in hand
        await Save();
        Watch();
        if (logger.IsEnabled(LogLevel.Information)) // a registration storm should not box four arguments per worker for nothing
            logger.LogInformation("Worker {WorkerId} ({Name}) registered: {Approval}, {Device}", WorkerId, Data.Name, Data.Approval, Data.Hardware.DeviceKind);
        return new WorkerRegistered(View(), credential);
    }

    /// <summary>
    /// An agent registering without a credential gets one if the id is unclaimed (the first claim wins); a claimed id
    /// needs its credential (the gate has checked it), or an operator's reset. The cluster's own callers (the REST
    /// worker protocol) manage the credential themselves.
    /// </summary>
    private async Task<string?> IssueCredential()
    {
        if (AgentCaller.Current is not "") return null;
        var credential = Secrets.New();
        if (!await GrainFactory.GetGrain<IWorkerTokenGrain>(WorkerId).Claim(Secrets.Hash(credential)))
            throw new RegattaException("worker_exists",
                $"worker '{WorkerId}' is registered with a credential; present it (the agent keeps it in its cache folder), or ask an operator to reset it");
        return credential;
    }

    public async Task<WorkerView> Approve()
    {
        RequireRegistered();
        if (Data.Approval == ApprovalStatus.Approved)
            throw new RegattaException("already_approved", $"worker '{WorkerId}' is already approved");
        if (Data.Approval == ApprovalStatus.Rejected)
            throw new RegattaException("rejected", $"worker '{WorkerId}' was rejected ({Data.RejectReason}); it must register again");
        Data.Approval = ApprovalStatus.Approved;
        await Save();
        return View();
    }

    public async Task<WorkerView> Reject(string reason)
    {
        RequireRegistered();
        if (Data.Approval == ApprovalStatus.Rejected)
            throw new RegattaException("already_rejected", $"worker '{WorkerId}' is already rejected");
        Data.Approval = ApprovalStatus.Rejected;
        Data.RejectReason = string.IsNullOrWhiteSpace(reason) ? "rejected by operator" : reason;
        await LeaveRuns($"worker rejected: {Data.RejectReason}");
        await Save();
        return View();
    }

    public Task<HeartbeatReply> Heartbeat(Heartbeat heartbeat)
    {
        if (Data.Approval == ApprovalStatus.Unregistered)
            throw new RegattaException("unknown_worker", $"worker '{WorkerId}' is not registered");
        if (Data.Approval == ApprovalStatus.Rejected)
            throw new RegattaException("rejected", $"worker '{WorkerId}' was rejected: {Data.RejectReason}");
        if (WorkerRules.HeartbeatProblems(heartbeat) is { } problem) throw new RegattaException("bad_heartbeat", problem);

        Telemetry.RegattaMetrics.Heartbeat();
        var reported = WorkerRules.ReportedWord(heartbeat);
        var changed = Data.Liveness != heartbeat.Status || Data.ReportedStatus != reported || heartbeat.TokensServedSinceLast > 0;
        Data.LastSeen = time.GetUtcNow();
        Data.Liveness = heartbeat.Status;
        Data.ReportedStatus = reported;
        Data.TokensServed += heartbeat.TokensServedSinceLast;
        Data.Progress = heartbeat.Progress;
        Watch();
        // Liveness changes are persisted at once; plain heartbeats only now and then, to spare the store. The plain
        // heartbeat is the hot path (every worker every few seconds): no state machine, no write, one small reply.
        if (changed || Data.LastSeen.UtcTicks - _lastWriteTicks > (Timeout / 2).Ticks) return SaveAndReply();
        return Task.FromResult(Reply());
    }

    private async Task<HeartbeatReply> SaveAndReply()
    {
        await Save();
        return Reply();
    }

    private HeartbeatReply Reply()
    {
        var pending = 0;
        foreach (var a in Data.Assignments)
            if (!Data.Delivered.Contains(a.JobId)) pending++;
        return new HeartbeatReply(Data.Approval, Data.Liveness, pending, [.. Data.Runs], options.Value.HeartbeatInterval)
        { Layers = Data.Layers, ModelVersion = Data.ModelVersion };
    }

    public async Task Unregister()
    {
        RequireRegistered();
        await LeaveRuns("worker unregistered");
        Data.Liveness = Liveness.Offline;
        Data.Progress = null;
        StopServing();
        await Save();
        clock.Forget(this.GetGrainId());
    }

    public Task<WorkerView> GetView() => Task.FromResult(View());

    public Task<JobRecord> Complete(string jobId, JobOutcome outcome)
    {
        RequireRegistered();
        if (!Ids.IsValid(jobId)) throw new RegattaException("unknown_job", "jobId: not a job id");
        // The job grain checks that the job is this worker's: the worker is this grain's key, never the caller's word.
        var opened = Data.Assignments.FirstOrDefault(a => a.JobId == jobId)?.ToJob(WorkerId);
        return GrainFactory.GetGrain<IJobGrain>(jobId).Complete(WorkerId, outcome, opened);
    }

    /// <summary>
    /// Relays a secure-aggregation message of one of this worker's own open train jobs, as this worker (the grain's
    /// key): an agent can speak only for itself, and is answered only what is addressed to it.
    /// </summary>
    public Task<SecAggReply> SecAgg(string jobId, SecAggRequest request)
    {
        RequireRegistered();
        var job = Data.Assignments.FirstOrDefault(a => a.JobId == jobId && a.Kind == JobKind.Train)
            ?? throw new RegattaException("unknown_job", $"job '{jobId}' is not an open train job of worker '{WorkerId}'");
        if (!job.Spec.Privacy.SecureAggregation)
            throw new RegattaException("forbidden", $"run '{job.RunId}' does not use secure aggregation");
        return GrainFactory.GetGrain<ISecAggRoundGrain>(SecAggKeys.Round(job.RunId, job.Round, job.Attempt)).Member(WorkerId, request);
    }

    public Task<JoinResult> Join(string runId, string? joinToken)
    {
        RequireRegistered();
        if (!Ids.IsValid(runId)) throw new RegattaException("unknown_run", "runId: not a run id");
        if (joinToken is { Length: > 200 }) throw new RegattaException("bad_join_token", "joinToken: at most 200 characters");
        return GrainFactory.GetGrain<IRunGrain>(runId).Join(WorkerId, joinToken);
    }

    public async Task<ServingModel> GetServingModel()
    {
        RequireRegistered();
        if (Data.Approval != ApprovalStatus.Approved) throw new RegattaException("not_approved", $"worker '{WorkerId}' is not approved");
        var settings = GrainFactory.GetGrain<INetworkSettingsGrain>(0).Get();
        var model = await GrainFactory.GetGrain<ILayerMapGrain>(0).GetModel();
        return new ServingModel(model, (await settings).Quantization);
    }

    public async Task<string?> MayAccessBlob(string hash, BlobAccess access)
    {
        if (Data.Approval == ApprovalStatus.Unregistered) return "the worker is not registered";
        // The served model's parts are looked up only for a worker that holds blocks and is not asking about its jobs.
        var approved = Data.Approval == ApprovalStatus.Approved;
        IReadOnlyCollection<string>? parts = null;
        if (approved && Data.Layers is not null && access != BlobAccess.Write && !BlobAccessRules.Names(Data.Assignments, hash))
            parts = (await GrainFactory.GetGrain<ILayerMapGrain>(0).GetModel()).PartHashes;
        // A worker that a run's join token admitted works for that run only, though it is pending for the rest.
        return (_blobs ??= new BlobAccessRules()).Check(hash, access, run => approved || Data.Runs.Contains(run), Data.Assignments, parts);
    }

    public async Task<Assignment?> NextAssignment(TimeSpan maxWait)
    {
        RequireRegistered();
        if (maxWait < TimeSpan.Zero || maxWait > TimeSpan.FromSeconds(25))
            throw new RegattaException("bad_wait", "maxWait must be in [0, 25] seconds");
        var deadline = time.GetUtcNow() + maxWait;
        while (true)
        {
            var next = Data.Assignments.FirstOrDefault(a => !Data.Delivered.Contains(a.JobId));
            if (next is not null)
            {
                Data.Delivered.Add(next.JobId);
                await Save();
                return next;
            }
            var left = deadline - time.GetUtcNow();
            if (left <= TimeSpan.Zero) return null;
            var waiter = _waiting ??= new Waiter();
            waiter.Polls++;
            Assignment? handed;
            try
            {
                handed = await waiter.Handed.Task.WaitAsync(left, time);
            }
            catch (TimeoutException)
            {
                // An assignment claimed this wait and is being stored as delivered: it is this poll's to return.
                handed = waiter.Claimed ? await waiter.Handed.Task : null;
            }
            finally
            {
                if (--waiter.Polls == 0 && _waiting == waiter) _waiting = null;
            }
            if (handed is not null && !waiter.Taken)
            {
                waiter.Taken = true;
                return handed;
            }
            // Another poll took it, the handover's write failed (the job is then undelivered), or the wait is over: look again.
        }
    }

    public async Task Assign(Assignment assignment)
    {
        var held = Data.Assignments.FirstOrDefault(a => a.JobId == assignment.JobId);
        if (held is not null || Data.RecentJobs.Contains(assignment.JobId))
        {
            // A replay (a run that reactivated sends its open jobs again) or a job closed before it got here: the job
            // grain knows whether it closed, and tells the run again if so. Idempotent.
            await GrainFactory.GetGrain<IJobGrain>(assignment.JobId).Open((held ?? assignment).ToJob(WorkerId));
            return;
        }
        // Opened here, in this worker's own write: a round's opening costs each member one write and no job grain.
        // The job grain stores the job when it closes (Complete, CloseJob hand it this assignment).
        assignment = assignment with { OpenedAt = time.GetUtcNow() };
        Data.Assignments.Add(assignment);
        var waiter = _waiting is { Polls: > 0, Claimed: false } w ? w : null;
        _waiting = null;
        if (waiter is not null)
        {
            waiter.Claimed = true;
            Data.Delivered.Add(assignment.JobId);
        }
        var opened = assignment.ToJob(WorkerId);
        try
        {
            await Save();
        }
        catch
        {
            if (waiter is not null)
            {
                Data.Delivered.Remove(assignment.JobId); // not handed over: the next poll delivers it with its own write
                waiter.Handed.TrySetResult(null);
            }
            throw;
        }
        Telemetry.RegattaMetrics.JobOpened(opened);
        waiter?.Handed.TrySetResult(assignment);
        // The worker's history shows the opening (the run's shows its whole round at once) and stores it with the closing.
        GrainFactory.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForWorker(WorkerId)).RecordOpening(JobSummary.Of(opened)).Ignore();
    }

    public async Task CloseJob(string jobId, JobResult result, string reason)
    {
        var held = Data.Assignments.FirstOrDefault(a => a.JobId == jobId);
        await GrainFactory.GetGrain<IJobGrain>(jobId).Close(result, reason, held?.ToJob(WorkerId));
        if (held is not null || Data.RecentJobs.Contains(jobId)) return; // the closed job tells this worker (OnJobClosed)
        // Closed before its assignment got here: remembered, so that the assignment is not handed out when it comes.
        RememberClosed(jobId);
        await Save();
    }

    public async Task OnJobClosed(JobRecord job)
    {
        var removed = Data.Assignments.RemoveAll(a => a.JobId == job.JobId) > 0;
        Data.Delivered.Remove(job.JobId);
        if (!Data.RecentJobs.Contains(job.JobId))
        {
            RememberClosed(job.JobId);
            if (job.Result == JobResult.Success) Data.JobsDone++;
            else Data.JobsFailed++;
        }
        else if (removed is false && job.Result == JobResult.Failure)
        {
            // a success the coordinator later refused
            Data.JobsDone = Math.Max(0, Data.JobsDone - 1);
            Data.JobsFailed++;
        }
        await Save();
    }

    private void RememberClosed(string jobId)
    {
        Data.RecentJobs.Add(jobId);
        if (Data.RecentJobs.Count > RecentJobsKept) Data.RecentJobs.RemoveAt(0);
    }

    public async Task SetRunMembership(string runId, bool member)
    {
        if (member ? Data.Runs.Add(runId) : Data.Runs.Remove(runId)) await Save();
    }

    public async Task SetLayers(LayerRange? layers, string? modelVersion)
    {
        if (layers is not null && (layers.Start < 0 || layers.End <= layers.Start))
            throw new RegattaException("bad_layers", $"layers {layers}: must be a non-empty range of blocks");
        Data.Layers = layers;
        Data.ModelVersion = layers is null ? null : modelVersion;
        if (_server is { } s && (s.Layers != layers || s.Version != modelVersion)) StopServing(); // it must load the new range first
        await Save();
    }

    public Task Serve(IBlockServer server, string modelVersion, LayerRange layers)
    {
        RequireRegistered();
        if (Data.Approval != ApprovalStatus.Approved || Data.Liveness == Liveness.Offline)
            throw new RegattaException("not_serving", $"worker '{WorkerId}' is not approved and online");
        if (Data.Layers != layers || Data.ModelVersion != modelVersion)
            throw new RegattaException("stale_layers", $"worker '{WorkerId}' is assigned {Data.Layers?.ToString() ?? "no blocks"} of {Data.ModelVersion ?? "no model"}");
        _server = new Serving(server, modelVersion, layers);
        // Every announcement, not only the first: the layer map keeps who serves in memory, and learns it back within
        // a heartbeat after it moves or restarts.
        GrainFactory.GetGrain<ILayerMapGrain>(0).WorkerServing(WorkerId, modelVersion, layers).Ignore();
        return Task.CompletedTask;
    }

    /// <summary>Forgets the agent's endpoint: routing stops, and the network counts this worker's blocks as unserved.</summary>
    private void StopServing()
    {
        if (_server is null) return;
        _server = null;
        GrainFactory.GetGrain<ILayerMapGrain>(0).WorkerServing(WorkerId, null, null).Ignore();
    }

    public async Task<ForwardResult> Forward(ForwardRequest request)
    {
        if (_server is not { } s || Data.Liveness == Liveness.Offline)
            throw new RegattaException("not_serving", $"worker '{WorkerId}' has no loaded blocks to serve");
        if (s.Version != request.ModelVersion || request.From < s.Layers.Start || request.To > s.Layers.End)
            throw new RegattaException("not_serving", $"worker '{WorkerId}' serves {s.Layers} of {s.Version}, not [{request.From},{request.To}) of {request.ModelVersion}");
        try
        {
            return await s.Server.Forward(request).WaitAsync(options.Value.ForwardTimeout);
        }
        catch (Exception e) when (e is not RegattaException)
        {
            // Gone or stuck: stop routing to it until the agent announces itself again.
            if (_server?.Server == s.Server) StopServing();
            logger.LogWarning("Worker {WorkerId} failed a forward hop: {Error}", WorkerId, e.Message);
            throw new RegattaException("hop_failed", $"worker '{WorkerId}' failed blocks [{request.From},{request.To}): {e.GetType().Name}: {e.Message}");
        }
    }

    private void Watch() => clock.Seen(this.GetGrainId(), Data.LastSeen);

    public async Task CheckLiveness()
    {
        if (Data.Approval == ApprovalStatus.Unregistered || Data.Liveness == Liveness.Offline)
        {
            clock.Forget(this.GetGrainId());
            return;
        }
        if (!IsSilent())
        {
            Watch(); // heard from meanwhile (the clock may have a stale time after a reactivation)
            return;
        }
        logger.LogWarning("Worker {WorkerId} went offline: no heartbeat since {LastSeen}", WorkerId, Data.LastSeen);
        Data.Liveness = Liveness.Offline;
        StopServing();
        await LeaveRuns($"offline: no heartbeat for {Timeout.TotalSeconds:0.#} s");
        await Save();
        clock.Forget(this.GetGrainId());
    }

    private async Task LeaveRuns(string reason)
    {
        foreach (var run in Data.Runs) await GrainFactory.GetGrain<IRunGrain>(run).Leave(WorkerId, reason);
        Data.Runs.Clear();
    }

    private async Task Save()
    {
        await state.WriteStateAsync();
        _lastWriteTicks = time.GetUtcNow().UtcTicks;
        await GrainFactory.Shard(WorkerId).Upsert(new WorkerSummary(WorkerId, Data.Name, Data.Approval, // straight to its registry shard
            Data.Liveness, Data.LastSeen, Data.Hardware.DeviceKind, Data.Hardware.VramBytes));
        TellLayerMap();
    }

    /// <summary>The layer map hears when this worker starts or stops being able to serve (one-way: it may call back).</summary>
    private void TellLayerMap()
    {
        var eligible = Data.Approval == ApprovalStatus.Approved && Data.Liveness != Liveness.Offline;
        // What the layer map plans with: eligible workers offering memory; the rest it drops or never lists.
        var offer = eligible ? Math.Max(0, Data.Hardware.ServingMemory) : 0;
        if (offer == _toldOffer) return;
        // A worker that never could serve needs no message (on registration, approval or every activation).
        var first = _toldOffer < 0;
        _toldOffer = offer;
        if (first && !eligible && Data.Layers is null) return;
        GrainFactory.GetGrain<ILayerMapGrain>(0).WorkerChanged(new ServingCandidate(WorkerId, eligible, Data.Hardware.ServingMemory)).Ignore();
    }

    private void RequireRegistered()
    {
        if (Data.Approval == ApprovalStatus.Unregistered)
            throw new RegattaException("unknown_worker", $"worker '{WorkerId}' is not registered");
    }

    private WorkerView View() => new()
    {
        WorkerId = WorkerId,
        Name = Data.Name,
        Hardware = Data.Hardware,
        Approval = Data.Approval,
        Liveness = Data.Liveness,
        RegisteredAt = Data.RegisteredAt,
        LastSeen = Data.LastSeen,
        TokensServed = Data.TokensServed,
        JobsDone = Data.JobsDone,
        JobsFailed = Data.JobsFailed,
        RecentJobs = [.. Data.RecentJobs],
        Runs = [.. Data.Runs],
        Progress = Data.Progress,
        RejectReason = Data.RejectReason,
        Layers = Data.Layers,
        ModelVersion = Data.ModelVersion,
        Serving = _server is not null,
        ReportedStatus = Data.ReportedStatus,
    };
}
