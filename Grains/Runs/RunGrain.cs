using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Regatta.Grains.Aggregation;
using Regatta.Grains.Models;
using Regatta.Jobs;
using Regatta.Learning.Weights;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Grains.Runs;

/// <summary>
/// A run. Loads its state, asks <see cref="RunLifecycle"/> what happens, persists, then acts (opens and closes jobs,
/// aggregates). Ticks on a timer while active; a reminder wakes it after a deactivation or a silo loss.
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
    private CandidateBuilder? _candidate;
    private (string Hash, ModelWeights Weights)? _global;

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
        await GrainFactory.GetGrain<IRunRegistryGrain>(0).Add(Summary());
        Telemetry.RegattaMetrics.RunCreated();
        logger.LogInformation("Run {RunId} created: {Model} on {Data}, {Rounds} rounds", RunId, spec.Model.Name, spec.Data.Source, spec.Rounds);
        return _machine.ToView();
    }

    public async Task<RunView> Start()
    {
        if (Data.Exists && Data.State == RunState.Created && Data.GlobalModelHash is null)
        {
            // The initial model is content-addressed like every later version, so members fetch it the same way.
            var spec = Data.Spec!; // grain state may not be touched off the grain's scheduler
            var initial = await Task.Run(() => models.InitialWeights(spec));
            // Where round 1 starts from, on the same validation set as every round after: near chance for a fresh model.
            if (await Task.Run(() => models.Evaluate(spec, initial)) is { } before) (Data.InitialLoss, Data.InitialAccuracy) = before;
            Data.GlobalModelHash = Data.InitialModelHash = await blobs.PutAsync(initial.ToBytes());
            Data.KitHash = await blobs.PutAsync(new RunKit
            {
                RunId = RunId,
                SpecYaml = RunSpecYaml.Write(spec),
                Model = spec.Model,
                InitialModelHash = Data.GlobalModelHash,
                Data = spec.Data,
                MinAgentVersion = RunKit.CurrentMinAgentVersion,
                CreatedAt = time.GetUtcNow(),
            }.ToBytes());
        }
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

    public async Task<RunView> Restore()
    {
        await Change(m => m.Restore());
        _candidate = null;
        await this.RegisterOrUpdateReminder(ReminderName, options.Value.ReminderPeriod, options.Value.ReminderPeriod);
        StartTicking();
        return _machine.ToView();
    }

    public async Task<JoinResult> Join(string workerId, string? joinToken)
    {
        Ids.Require(workerId, "workerId");
        if (!Data.Exists) throw new RegattaException("unknown_run", $"run '{RunId}' does not exist");
        var worker = GrainFactory.GetGrain<IWorkerOperatorGrain>(workerId);
        var view = await worker.GetView();
        var autoApproved = false;
        switch (view.Approval)
        {
            case ApprovalStatus.Unregistered:
                throw new RegattaException("unknown_worker", $"worker '{workerId}' is not registered");
            case ApprovalStatus.Rejected:
                throw new RegattaException("rejected", $"worker '{workerId}' was rejected and cannot join");
            // The run's token admits the worker to this run only: it stays pending for everything else.
            case ApprovalStatus.Pending when _machine.IsJoinToken(joinToken):
                autoApproved = true;
                logger.LogInformation("Run {RunId}: pending worker {WorkerId} admitted by the run's join token", RunId, workerId);
                break;
            case ApprovalStatus.Pending:
                throw new RegattaException("not_approved", joinToken is null
                    ? $"worker '{workerId}' is pending approval; an operator must approve it or it must present the run's join token"
                    : $"worker '{workerId}' is pending approval and the join token it presented does not match run '{RunId}'");
        }
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
                await Change(m => m.ReadinessReported(job.WorkerId, job.JobId, job.Kind, job.Result == JobResult.Success, job.Error));
                break;
            case JobKind.Witness:
                var hash = job.OutputHash;
                await Change(m => m.WitnessReported(job.WorkerId, job.JobId, job.Result == JobResult.Success, hash,
                    Metric(job, MetricNames.Loss), Metric(job, MetricNames.Accuracy), Metric(job, "baseLoss"), job.Error));
                break;
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Tick();

    private async Task OnTrainClosed(JobRecord job)
    {
        if (!_machine.ExpectsTrainReport(job.WorkerId, job.JobId)) return;
        AcceptedUpdate? accepted = null;
        string? refusal;
        if (job.Result != JobResult.Success) refusal = job.Error ?? $"job {job.Result}";
        else if (job.OutputHash is null) refusal = "no update was uploaded";
        else
        {
            var claimed = Metric(job, MetricNames.Examples);
            var examples = ExampleWeights.Weigh(Data.Spec!.Data, claimed); // the member's claim, clamped to its partition
            refusal = await CheckAndFold(job.OutputHash, examples);
            if (refusal is null) accepted = new AcceptedUpdate(job.WorkerId, job.JobId, job.OutputHash, examples, Metric(job, MetricNames.Loss), claimed);
        }
        if (refusal is not null)
        {
            logger.LogWarning("Run {RunId}: update from {WorkerId} refused: {Reason}", RunId, job.WorkerId, refusal);
            if (job.Result == JobResult.Success)
                await GrainFactory.GetGrain<IJobGrain>(job.JobId).Close(JobResult.Failure, "update refused: " + refusal);
        }
        await Change(m => m.TrainReported(job.WorkerId, job.JobId, accepted, refusal));
    }

    private async Task<string?> CheckAndFold(string updateHash, double examples)
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
        var builder = await Builder();
        var refusal = builder.Check(update, examples, Data.Spec!.Aggregation.MaxUpdateNorm);
        if (refusal is null) builder.Fold(updateHash, update, examples);
        if (refusal is null) Telemetry.RegattaMetrics.UpdateAggregated(update.ParameterCount);
        return refusal;
    }

    private async Task<CandidateBuilder> Builder()
    {
        var round = Data.Current!;
        if (_candidate is { } c && c.Round == round.Round && c.Attempt == round.Attempt && c.GlobalHash == Data.GlobalModelHash)
            return c;
        var global = await Global();
        _candidate = new CandidateBuilder(round.Round, round.Attempt, Data.Spec!.Aggregation, global, Data.GlobalModelHash!);
        // Reactivated mid-round: fold again what was accepted before, from the content-addressed blobs.
        foreach (var a in round.Accepted)
            _candidate.Fold(a.UpdateHash, ModelWeights.FromBytes(await blobs.ReadAllAsync(a.UpdateHash)), a.Examples);
        return _candidate;
    }

    private async Task BuildCandidate(int roundNumber, int attempt)
    {
        var round = Data.Current;
        if (round is null || round.Round != roundNumber || round.Attempt != attempt || round.CandidateHash is not null) return;
        var spec = Data.Spec!;
        var builder = await Builder();
        if (!builder.HasFolded(round.Accepted)) { _candidate = null; builder = await Builder(); }
        FedAdamState? optimizer = Data.ServerOptimizerHash is { } h ? ServerOptimizerBlob.FromBytes(await blobs.ReadAllAsync(h)) : null;
        var (candidate, refusal, newOptimizer) = await Task.Run(() => builder.Build(spec.Aggregation, optimizer));
        _candidate = null;
        string? hash = null;
        double loss = double.NaN, accuracy = double.NaN;
        if (candidate is not null)
        {
            hash = await blobs.PutAsync(candidate.ToBytes());
            if (await Task.Run(() => models.Evaluate(spec, candidate)) is { } eval)
            {
                (loss, accuracy) = eval;
                var previous = Data.History.LastOrDefault()?.ValidationLoss ?? double.NaN;
                if (!double.IsFinite(loss))
                    refusal = "server validation loss is not finite";
                else if (double.IsFinite(previous) && loss > previous * (1 + spec.Witnesses.LossTolerance) + 1e-9)
                    refusal = $"server validation loss {loss:F4} is worse than the committed {previous:F4} beyond tolerance";
            }
            if (refusal is null && newOptimizer is not null)
                Data.ServerOptimizerHash = await blobs.PutAsync(ServerOptimizerBlob.ToBytes(newOptimizer));
        }
        if (refusal is not null) logger.LogWarning("Run {RunId} round {Round}: candidate refused: {Reason}", RunId, roundNumber, refusal);
        await Change(m => m.CandidateReady(roundNumber, attempt, refusal is null ? hash : null, refusal, loss, accuracy));
    }

    private async Task<ModelWeights> Global()
    {
        var hash = Data.GlobalModelHash ?? throw new RegattaException("no_model", $"run '{RunId}' has no global model");
        if (_global is { } g && g.Hash == hash) return g.Weights;
        var weights = ModelWeights.FromBytes(await blobs.ReadAllAsync(hash));
        _global = (hash, weights);
        return weights;
    }

    /// <summary>Runs a change, persists it, then carries out its effects. A refused change leaves the stored state as it was.</summary>
    private Task Change(Action<RunLifecycle> change) => ChangeIfAny(m =>
    {
        change(m);
        return true;
    });

    /// <summary>As above, for a change that may find nothing to do (it returns false): then nothing is written.</summary>
    private async Task ChangeIfAny(Func<RunLifecycle, bool> change)
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
            throw;
        }
        if (!changed) return;
        await state.WriteStateAsync();
        var effects = _machine.TakeEffects();
        await Execute(effects);
        var trainJobs = effects.Count(e => e is OpenJob { Kind: JobKind.Train });
        if (trainJobs > 0) Telemetry.RegattaMetrics.RoundOpened(time.GetElapsedTime(started), trainJobs);
    }

    private async Task Execute(List<RunEffect> effects)
    {
        // The run list's summary goes first, so it is not queued behind a round's N assignments.
        var summary = effects.Count > 0 ? GrainFactory.GetGrain<IRunRegistryGrain>(0).Update(Summary()) : Task.CompletedTask;
        // A round opens or closes one job per member: those messages go out together, not one after another.
        var jobCalls = new List<Task>();
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case OpenJob open:
                    jobCalls.Add(OpenJob(open));
                    break;
                case CloseJob close:
                    jobCalls.Add(CloseJob(close));
                    break;
                case AggregateRound aggregate:
                    await Drain(jobCalls);
                    await BuildCandidate(aggregate.Round, aggregate.Attempt);
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
        await Drain(jobCalls);
        await summary;
    }

    private static async Task Drain(List<Task> calls)
    {
        if (calls.Count == 0) return;
        await Task.WhenAll(calls);
        calls.Clear();
    }

    private Task CloseJob(CloseJob close) => GrainFactory.GetGrain<IJobGrain>(close.JobId).Close(close.Result, close.Reason);

    /// <summary>Hands the job to its worker, which opens the job record (one message from the run per job).</summary>
    private Task OpenJob(OpenJob open) =>
        Worker(open.WorkerId).Assign(new Assignment
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
        });

    private IWorkerClusterGrain Worker(string workerId) => (_workers ??= new(GrainFactory)).Get(workerId);

    /// <summary>After a crash between persisting and acting, the current round's jobs are opened again (idempotently).</summary>
    private async Task ReplayOpenJobs()
    {
        foreach (var (worker, r) in Data.Readiness.Where(r => Data.Members[r.Key].Status == MemberStatus.Active))
            foreach (var job in _machine.ReadinessJobs(worker, r))
                await OpenJob(job);
        if (Data.Current is not { } round) return;
        var reported = round.Reported();
        foreach (var (worker, job) in round.TrainJobs.Where(j => !reported.Contains(j.Key)))
            await OpenJob(new OpenJob(job, JobKind.Train, worker, round.Round, round.Attempt, Data.GlobalModelHash ?? "", null,
                Data.Members[worker].Partition, round.Deadline));
        if (round.CandidateHash is { } candidate)
            foreach (var (worker, job) in round.WitnessJobs.Where(j => round.Attestations.All(a => a.WorkerId != j.Key)))
                await OpenJob(new OpenJob(job, JobKind.Witness, worker, round.Round, round.Attempt, candidate, Data.GlobalModelHash,
                    Data.Members[worker].Partition, round.WitnessDeadline));
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

    private RunSummary Summary()
    {
        var best = Data.History.Select(r => double.IsFinite(r.ValidationAccuracy) ? r.ValidationAccuracy : r.WitnessAccuracy)
            .Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max();
        return new RunSummary(RunId, Data.Spec?.Name ?? RunId, Data.State, Data.Round,
            Data.Members.Values.Count(m => m.Status == MemberStatus.Active), best, Data.CreatedAt);
    }

    private static double Metric(JobRecord job, string name) => job.Metrics.TryGetValue(name, out var v) ? v : double.NaN;
}
