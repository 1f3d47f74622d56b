using Microsoft.Extensions.Logging;
using Regatta.Jobs;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Grains.Jobs;

[GenerateSerializer, Alias("regatta.JobState")]
public sealed class JobState
{
    [Id(0)] public JobRecord? Job { get; set; }
}

/// <summary>One job. Completion is a message: the job closes itself, then tells its run and its worker.</summary>
public sealed class JobGrain(
    [PersistentState("job", StoreNames.Regatta)] IPersistentState<JobState> state,
    TimeProvider time,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    private const int MaxMetrics = 64;
    private const int MaxErrorLength = 4000;

    // A job opened and not yet closed lives in memory: its worker's stored assignment is its durable record until
    // then (see Complete), so a round's opening costs each member one write (the worker's), not two.
    private bool _openUnwritten;

    public async Task<JobRecord> Open(JobRecord job)
    {
        if (job.JobId != this.GetPrimaryKeyString())
            throw new RegattaException("bad_job", $"job id '{job.JobId}' does not match grain key");
        if (state.State.Job is { } existing && !IsTombstone(existing))
        {
            // A replayed assignment after a crash: the history write may be what the crash interrupted, and the run may
            // not have stored this job's report (it writes reports behind). Not awaited: the run may be the caller,
            // still activating.
            await Record(existing);
            if (existing.Status == JobStatus.Closed) GrainFactory.GetGrain<IRunGrain>(existing.RunId).OnJobClosed(existing).Ignore();
            return existing;
        }
        if (state.State.Job is { } closed)
        {
            // A tombstone: the run closed this job before its worker opened it; it opens closed.
            state.State.Job = job with { Status = JobStatus.Closed, Result = closed.Result, OpenedAt = time.GetUtcNow(), ClosedAt = closed.ClosedAt, Error = closed.Error };
            await state.WriteStateAsync();
        }
        else
        {
            state.State.Job = Opened(job);
            _openUnwritten = true;
        }
        await Record(state.State.Job);
        Telemetry.RegattaMetrics.JobOpened(state.State.Job);
        return state.State.Job;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // A long job outlives an idle activation: keep its opening (best effort; a crash falls back on the worker's copy).
        if (_openUnwritten)
        {
            try
            {
                await state.WriteStateAsync(cancellationToken);
                _openUnwritten = false;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Job {JobId}: could not store its opening on deactivation; its worker's assignment still holds it", this.GetPrimaryKeyString());
            }
        }
    }

    public async Task<JobRecord> Complete(string workerId, JobOutcome outcome, JobRecord? opened = null)
    {
        var job = state.State.Job switch
        {
            { } j when !IsTombstone(j) => j,
            // Opened in an activation that is gone (a crash) before its opening was stored: the worker's assignment is it.
            var stored when opened is not null && opened.JobId == this.GetPrimaryKeyString() && opened.WorkerId == workerId =>
                await Reopen(opened, stored),
            _ => throw new RegattaException("unknown_job", $"job '{this.GetPrimaryKeyString()}' does not exist"),
        };
        if (job.WorkerId != workerId)
            throw new RegattaException("wrong_worker", $"job '{job.JobId}' belongs to worker '{job.WorkerId}', not '{workerId}'");
        if (job.Status == JobStatus.Closed)
            throw new RegattaException("job_closed", $"job '{job.JobId}' is already closed ({job.Result})");
        var error = Validate(outcome);
        var closed = job with
        {
            Status = JobStatus.Closed,
            Result = error is null && outcome.Succeeded ? JobResult.Success : JobResult.Failure,
            ClosedAt = time.GetUtcNow(),
            Metrics = error is null ? new Dictionary<string, double>(outcome.Metrics) : new(),
            OutputHash = error is null ? outcome.OutputHash : null,
            Error = error ?? Truncate(outcome.Error is null ? null : (outcome.Stage is null ? outcome.Error : $"{outcome.Stage}: {outcome.Error}")),
        };
        state.State.Job = closed;
        await state.WriteStateAsync();
        _openUnwritten = false;
        logger.LogInformation("Job {JobId} ({Kind}) closed by {WorkerId}: {Result}", closed.JobId, closed.Kind, workerId, closed.Result);
        Telemetry.RegattaMetrics.JobClosed(closed);
        await Notify(closed, notifyRun: true);
        return closed;
    }

    public async Task<JobRecord> Close(JobResult result, string? error, JobRecord? opened = null)
    {
        var job = state.State.Job ?? (opened is not null && opened.JobId == this.GetPrimaryKeyString() ? Opened(opened) : null);
        if (job is null)
        {
            // Its worker has not opened it yet (the assignment is on its way): remember the closing for that moment.
            state.State.Job = new JobRecord { JobId = this.GetPrimaryKeyString(), Status = JobStatus.Closed, Result = result, ClosedAt = time.GetUtcNow(), Error = Truncate(error) };
            await state.WriteStateAsync();
            return state.State.Job;
        }
        // The coordinator may turn a reported success into a failure once it has checked the update.
        var refusesSuccess = job.Status == JobStatus.Closed && job.Result == JobResult.Success && result == JobResult.Failure;
        if (job.Status == JobStatus.Closed && !refusesSuccess) return job;
        var closed = job with { Status = JobStatus.Closed, Result = result, ClosedAt = job.ClosedAt ?? time.GetUtcNow(), Error = Truncate(error) };
        state.State.Job = closed;
        await state.WriteStateAsync();
        _openUnwritten = false;
        Telemetry.RegattaMetrics.JobClosed(closed);
        await Notify(closed, notifyRun: false);
        return closed;
    }

    public Task<JobRecord?> Get() => Task.FromResult(state.State.Job is { } job && !IsTombstone(job) ? job : null);

    private static bool IsTombstone(JobRecord job) => job.RunId.Length == 0;

    /// <summary>The open job as its worker holds it (when it opened, if the worker said).</summary>
    private JobRecord Opened(JobRecord opened) => opened with
    {
        Status = JobStatus.Opened,
        Result = JobResult.None,
        OpenedAt = opened.OpenedAt == default ? time.GetUtcNow() : opened.OpenedAt,
    };

    /// <summary>
    /// The job as its worker holds it, when this grain lost its unstored opening. If the run closed it meanwhile (a
    /// tombstone), it is stored closed, its worker is told, and the worker's report is refused as for any closed job.
    /// </summary>
    private async Task<JobRecord> Reopen(JobRecord opened, JobRecord? tombstone)
    {
        if (tombstone is null) return Opened(opened);
        var closed = Opened(opened) with { Status = JobStatus.Closed, Result = tombstone.Result, ClosedAt = tombstone.ClosedAt, Error = tombstone.Error };
        state.State.Job = closed;
        await state.WriteStateAsync();
        await Notify(closed, notifyRun: false);
        return closed;
    }

    /// <summary>Tells the histories, the worker and the run; the histories' writes do not hold up the run's round.</summary>
    private Task Notify(JobRecord job, bool notifyRun) => Task.WhenAll(Record(job), NotifyOwners(job, notifyRun));

    private async Task NotifyOwners(JobRecord job, bool notifyRun)
    {
        await GrainFactory.GetGrain<IWorkerClusterGrain>(job.WorkerId).OnJobClosed(job);
        if (notifyRun) await GrainFactory.GetGrain<IRunGrain>(job.RunId).OnJobClosed(job);
    }

    private Task Record(JobRecord job)
    {
        var summary = JobSummary.Of(job);
        return Task.WhenAll(
            GrainFactory.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun(job.RunId)).Record(summary),
            GrainFactory.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForWorker(job.WorkerId)).Record(summary));
    }

    /// <summary>An outcome from a worker is outside input: bounded, finite, well-formed.</summary>
    private static string? Validate(JobOutcome outcome)
    {
        if (outcome.Metrics.Count > MaxMetrics) return $"outcome refused: {outcome.Metrics.Count} metrics (max {MaxMetrics})";
        foreach (var (name, value) in outcome.Metrics)
        {
            if (string.IsNullOrEmpty(name) || name.Length > 64) return "outcome refused: metric names must be 1 to 64 characters";
            if (!double.IsFinite(value)) return $"outcome refused: metric '{name}' is not finite";
        }
        if (outcome.OutputHash is not null && !Models.BlobStore.IsValidHash(outcome.OutputHash))
            return "outcome refused: outputHash must be 64 lowercase hex characters";
        return null;
    }

    private static string? Truncate(string? text) => text is { Length: > MaxErrorLength } ? text[..MaxErrorLength] : text;
}
