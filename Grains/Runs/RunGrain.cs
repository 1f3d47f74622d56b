using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Regatta.Grains.Models;
using Regatta.Jobs;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Grains.Runs;

/// <summary>
/// A run. Loads its state, asks <see cref="RunLifecycle"/> what happens, persists, then acts (opens and closes jobs,
/// aggregates). Ticks on a timer while active; a reminder wakes it after a deactivation or a silo loss.
/// A job's report that changes nothing but the round's tally is written behind, by the next tick or the next change
/// that acts: a round of N members then costs a few writes of the run, not N. A report lost with a crash is not lost
/// to the run: its job is closed and stored, and reopening the run's open jobs on reactivation tells the run again.
/// </summary>
public sealed class RunGrain(
    [PersistentState("run", StoreNames.Regatta)] IPersistentState<RunData> state,
    IOptions<CoordinatorOptions> options,
    TimeProvider time,
    IBlobStore blobs,
    IModelRuntime models,
    ILogger<RunGrain> logger) : Grain, IRunGrain, IRemindable
{
    private const string ReminderName = "run-tick";
    private RunLifecycle _machine = null!;
    private IGrainTimer? _timer;
    private GrainReferences<IWorkerClusterGrain>? _workers;
    private readonly RoundCandidates _candidates = new(blobs, models);
    // The current secure-aggregation round's decoded sum, in memory only until its candidate is built.
    private SecAggRoundResult? _secAggSum;
    // Job reports applied in memory and not yet written (see the class summary).
    private bool _unsaved;

    private RunData Data => state.State;
    private string RunId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _machine = new RunLifecycle(Data, time);
        if (_machine.ProtectJoinToken()) await state.WriteStateAsync(cancellationToken); // stored before tokens were hashed
        if (Data.Exists && Data.State is not RunState.Created && !Data.State.IsTerminal())
        {
            logger.LogInformation("Run {RunId} resumes in {State}, round {Round}", RunId, Data.State, Data.Round);
            StartTicking();
            await ReplayOpenJobs();
        }
    }

    public async Task<RunView> Create(RunSpec spec)
    {
        Ids.Require(RunId, "runId");
        var errors = RunSpecValidator.Validate(spec, options.Value);
        if (errors.Count == 0) errors.AddRange(models.Validate(spec));
        if (errors.Count > 0) throw new RunSpecException(errors);
        await Change(m => m.Create(RunId, spec));
        await GrainFactory.GetGrain<IRunRegistryGrain>(0).Add(_machine.ToSummary());
        Telemetry.RegattaMetrics.RunCreated();
        logger.LogInformation("Run {RunId} created: {Model} on {Data}, {Rounds} rounds", RunId, spec.Model.Name, spec.Data.Source, spec.Rounds);
        return _machine.ToView();
    }

    public async Task<RunView> Start()
    {
        if (Data.Exists && Data.State == RunState.Created && Data.GlobalModelHash is null)
            await _candidates.PublishInitial(Data, time.GetUtcNow());
        await Change(m => m.Start());
        await this.RegisterOrUpdateReminder(ReminderName, options.Value.ReminderPeriod, options.Value.ReminderPeriod);
        StartTicking();
        return _machine.ToView();
    }

    public async Task<RunView> Pause()
    {
        await Change(m => m.Pause());
        return _machine.ToView();
    }

    public async Task<RunView> Resume()
    {
        await Change(m => m.Resume());
        return _machine.ToView();
    }

    public async Task<RunView> Cancel(string reason)
    {
        await Change(m => m.Cancel(reason));
        return _machine.ToView();
    }

    public async Task<RunView> Restore(int? round = null)
    {
        await Change(m => m.Restore(round));
        _candidates.Reset();
        await this.RegisterOrUpdateReminder(ReminderName, options.Value.ReminderPeriod, options.Value.ReminderPeriod);
        StartTicking();
        return _machine.ToView();
    }

    public async Task<JoinResult> Join(string workerId, string? joinToken)
    {
        Ids.Require(workerId, "workerId");
        if (!Data.Exists) throw new RegattaException("unknown_run", $"run '{RunId}' does not exist");
        var view = await GrainFactory.GetGrain<IWorkerOperatorGrain>(workerId).GetView();
        var autoApproved = _machine.Admits(workerId, view.Approval, joinToken);
        if (autoApproved) logger.LogInformation("Run {RunId}: pending worker {WorkerId} admitted by the run's join token", RunId, workerId);
        MemberStatus status = default;
        await Change(m => status = m.Join(workerId));
        return new JoinResult(RunId, status, autoApproved);
    }

    public async Task Leave(string workerId, string reason)
    {
        if (!Data.Exists) return;
        await Change(m => m.Drop(workerId, reason));
    }

    public Task<RunView> GetView() => Task.FromResult(_machine.ToView());
    public Task<List<RoundRecord>> GetRounds() => Task.FromResult(Data.History.ToList());
    public Task<List<RunTransition>> GetTimeline() => Task.FromResult(Data.Timeline.ToList());
    public Task<List<RunReport>> GetReports() => Task.FromResult(Data.Reports.ToList());

    public async Task AddReport(RunReport report)
    {
        if (!Data.Exists) throw new RegattaException("unknown_run", $"run '{RunId}' does not exist");
        await Change(m => m.AddReport(report));
    }

    public async Task<RunView> Tick()
    {
        if (!Data.Exists || Data.State.IsTerminal()) return _machine.ToView();
        await ChangeIfAny(m => m.Tick());
        if (_unsaved) await Save();
        if (Data.State == RunState.RoundWitness && Data.Current is { CandidateHash: null } round)
            await BuildCandidate(round.Round, round.Attempt); // after a reactivation the aggregation is redone
        return _machine.ToView();
    }

    public async Task OnJobClosed(JobRecord job)
    {
        if (!Data.Exists || job.RunId != RunId) return;
        switch (job.Kind)
        {
            case JobKind.Train:
                await OnTrainClosed(job);
                break;
            case JobKind.Provision or JobKind.Echo:
                await ChangeIfAny(m => m.ReadinessReported(job.WorkerId, job.JobId, job.Kind, job.Result == JobResult.Success, job.Error),
                    reported: true);
                break;
            case JobKind.Witness:
                var hash = job.OutputHash;
                await Change(m => m.WitnessReported(job.WorkerId, job.JobId, job.Result == JobResult.Success, hash,
                    job.Metric(MetricNames.Loss), job.Metric(MetricNames.Accuracy), job.Metric("baseLoss"), job.Error));
                break;
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Tick();

    public async Task OnSecAggFinished(SecAggRoundResult result)
    {
        if (!Data.Exists || result.RunId != RunId) return;
        if (result.Failure is null) _secAggSum = result;
        await ChangeIfAny(m => m.SecAggFinished(result.Round, result.Attempt, result.Survivors, result.Failure));
    }

    private async Task OnTrainClosed(JobRecord job)
    {
        if (!_machine.ExpectsTrainReport(job.WorkerId, job.JobId)) return;
        if (Data.Spec!.Privacy.SecureAggregation)
        {
            // The round's secure aggregation decides who is in the sum; a member whose job ended early is out of it.
            if (job.Result == JobResult.Success) return;
            await GrainFactory.GetGrain<ISecAggRoundGrain>(SecAggKeys.Round(RunId, job.Round, job.Attempt)).Gone(job.WorkerId);
            await Change(m => m.TrainReported(job.WorkerId, job.JobId, null, job.Error ?? $"job {job.Result}"));
            return;
        }
        var (accepted, refusal) = await _candidates.Receive(Data, job);
        if (refusal is not null)
        {
            logger.LogWarning("Run {RunId}: update from {WorkerId} refused: {Reason}", RunId, job.WorkerId, refusal);
            if (job.Result == JobResult.Success)
                await GrainFactory.GetGrain<IJobGrain>(job.JobId).Close(JobResult.Failure, "update refused: " + refusal);
        }
        await ChangeIfAny(m => m.TrainReported(job.WorkerId, job.JobId, accepted, refusal), reported: true);
    }

    private async Task BuildCandidate(int roundNumber, int attempt)
    {
        if (Data.Current is not { } round || round.Round != roundNumber || round.Attempt != attempt || round.CandidateHash is not null) return;
        CandidateOutcome outcome;
        if (!Data.Spec!.Privacy.SecureAggregation) outcome = await _candidates.Build(Data);
        else if (_secAggSum is { Sum: { } sum } r && r.Round == roundNumber && r.Attempt == attempt)
            outcome = await _candidates.BuildFromSum(Data, sum);
        else outcome = new CandidateOutcome(roundNumber, attempt, null, "the secure aggregate was lost (the run was reactivated)");
        _secAggSum = null;
        string? refusal = null;
        await Change(m => refusal = m.CandidateReady(outcome));
        if (refusal is not null) logger.LogWarning("Run {RunId} round {Round}: candidate refused: {Reason}", RunId, roundNumber, refusal);
    }

    /// <summary>Runs a change, persists it, then carries out its effects. A refused change leaves the stored state as it was.</summary>
    private Task Change(Action<RunLifecycle> change) => ChangeIfAny(m =>
    {
        change(m);
        return true;
    });

    /// <summary>
    /// As above, for a change that may find nothing to do (it returns false): then nothing is written. A job's report
    /// (<paramref name="reported"/>) that acts on nothing is written behind.
    /// </summary>
    private async Task ChangeIfAny(Func<RunLifecycle, bool> change, bool reported = false)
    {
        var started = time.GetTimestamp();
        bool changed;
        try
        {
            changed = change(_machine);
        }
        catch
        {
            await state.ReadStateAsync();
            _machine = new RunLifecycle(Data, time);
            if (_unsaved)
            {
                // The stored state predates reports this run had taken: their closed jobs tell it again, and the round's
                // folds start over from what is stored.
                _unsaved = false;
                _candidates.Reset();
                await ReplayOpenJobs();
            }
            throw;
        }
        if (!changed) return;
        if (reported && !_machine.HasEffects)
        {
            _unsaved = true;
            return;
        }
        await Save();
        var effects = _machine.TakeEffects();
        await Execute(effects);
        var trainJobs = effects.Count(e => e is OpenJob { Kind: JobKind.Train });
        if (trainJobs > 0) Telemetry.RegattaMetrics.RoundOpened(time.GetElapsedTime(started), trainJobs);
    }

    private async Task Save()
    {
        _unsaved = false;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            _unsaved = true;
            throw;
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_unsaved) await Save();
    }

    private async Task Execute(List<RunEffect> effects)
    {
        // The run list's summary goes first, so it is not queued behind a round's N assignments.
        var summary = effects.Count > 0 ? GrainFactory.GetGrain<IRunRegistryGrain>(0).Update(_machine.ToSummary()) : Task.CompletedTask;
        // A round opens or closes one job per member: those messages go out together, not one after another.
        var jobCalls = new List<Task>();
        List<JobSummary>? openings = null;
        var now = time.GetUtcNow();
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case OpenJob open:
                    var assignment = AssignmentOf(open);
                    jobCalls.Add(Worker(open.WorkerId).Assign(assignment));
                    // The worker stamps its own opening time; the history shows the run's until the job closes.
                    (openings ??= []).Add(JobSummary.Of(assignment.ToJob(open.WorkerId)) with { OpenedAt = now });
                    break;
                case CloseJob close:
                    jobCalls.Add(CloseJob(close));
                    break;
                case AggregateRound aggregate:
                    await Drain(jobCalls);
                    await BuildCandidate(aggregate.Round, aggregate.Attempt);
                    break;
                case OpenSecAgg open:
                    await OpenSecAgg(open);
                    break;
                case MembershipChanged membership:
                    await Worker(membership.WorkerId).SetRunMembership(RunId, membership.Member);
                    break;
                case RoundCommitted committed:
                    Telemetry.RegattaMetrics.RoundCommitted(committed.Record);
                    logger.LogInformation("Run {RunId} round {Round} committed: accuracy {Accuracy:F3}, loss {Loss:F4}",
                        RunId, committed.Record.Round, committed.Record.ValidationAccuracy, committed.Record.ValidationLoss);
                    break;
                case RunEnded ended:
                    Telemetry.RegattaMetrics.RunEnded(ended.State);
                    logger.LogInformation("Run {RunId} ended: {State}", RunId, ended.State);
                    _timer?.Dispose();
                    _timer = null;
                    if (await this.GetReminder(ReminderName) is { } reminder) await this.UnregisterReminder(reminder);
                    break;
            }
        }
        // The run's history shows the round's openings in one message (each worker tells its own history).
        if (openings is not null) GrainFactory.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun(RunId)).RecordOpenings(openings).Ignore();
        await Drain(jobCalls);
        await summary;
    }

    private static async Task Drain(List<Task> calls)
    {
        if (calls.Count == 0) return;
        await Task.WhenAll(calls);
        calls.Clear();
    }

    private Task CloseJob(CloseJob close) => Worker(close.WorkerId).CloseJob(close.JobId, close.Result, close.Reason);

    /// <summary>Hands the job to its worker, which opens the job (one message from the run per job).</summary>
    private Assignment AssignmentOf(OpenJob open) =>
        new()
        {
            JobId = open.JobId,
            RunId = RunId,
            Round = open.Round,
            Attempt = open.Attempt,
            Kind = open.Kind,
            ModelHash = open.ModelHash,
            BaseModelHash = open.BaseModelHash,
            Spec = Data.Spec!,
            Partition = open.Partition,
            Deadline = open.Deadline,
        };

    private Task OpenSecAgg(OpenSecAgg open)
    {
        var spec = Data.Spec!;
        var config = new SecAggRoundConfig(RunId, open.Round, open.Attempt, open.Members, SecAggKeys.Threshold(spec.Privacy, open.Members.Count),
            SecAggKeys.Length(Learning.Models.ModelCatalog.Describe(spec.Model).ParameterCount), (float)spec.Privacy.SecAggRange,
            open.InputDeadline, spec.Privacy.SecAggPhaseTimeout);
        return GrainFactory.GetGrain<ISecAggRoundGrain>(SecAggKeys.Round(RunId, open.Round, open.Attempt)).Open(config);
    }

    private IWorkerClusterGrain Worker(string workerId) => (_workers ??= new(GrainFactory)).Get(workerId);

    /// <summary>After a crash between persisting and acting, the run's open jobs are opened again (idempotently).</summary>
    private async Task ReplayOpenJobs()
    {
        foreach (var job in _machine.ReplayOpenJobs()) await Worker(job.WorkerId).Assign(AssignmentOf(job));
        if (Data.Spec!.Privacy.SecureAggregation && Data.State == RunState.RoundTrain && Data.Current is { } round)
            await OpenSecAgg(new OpenSecAgg(round.Round, round.Attempt, round.Selected, round.Deadline));
    }

    private void StartTicking()
    {
        _timer ??= this.RegisterGrainTimer(_ => Tick(), new GrainTimerCreationOptions
        {
            DueTime = options.Value.TickInterval,
            Period = options.Value.TickInterval,
            KeepAlive = true,
        });
    }

}
