using Regatta.Grains.Privacy;
using Regatta.Jobs;
using Regatta.Workers;
using Regatta.Runs;

namespace Regatta.Grains.Runs;

/// <summary>
/// The run state machine of DESIGN.md as plain code: it mutates <see cref="RunData"/> and returns the effects the
/// grain must carry out after persisting. It knows nothing of Orleans, blobs or tensors.
/// </summary>
public sealed class RunLifecycle(RunData data, TimeProvider time)
{
    private readonly List<RunEffect> _effects = [];
    private int _recorded; // transitions and reports recorded by this instance (see Tick)

    public RunData Data => data;
    private RunSpec Spec => data.Spec ?? throw new RegattaException("unknown_run", $"run '{data.RunId}' does not exist");
    private DateTimeOffset Now => time.GetUtcNow();

    /// <summary>Whether a change since the last <see cref="TakeEffects"/> asked for anything to be done.</summary>
    public bool HasEffects => _effects.Count > 0;

    /// <summary>Effects produced since the last call; the grain executes them once state is stored.</summary>
    public List<RunEffect> TakeEffects()
    {
        var effects = _effects.ToList();
        _effects.Clear();
        return effects;
    }

    public void Create(string runId, RunSpec spec)
    {
        if (data.Exists) throw new RegattaException("run_exists", $"run '{runId}' already exists");
        data.RunId = runId;
        data.Spec = PrivacyBudget.Resolve(spec);
        ProtectJoinToken();
        data.Exists = true;
        data.CreatedAt = Now;
        data.State = RunState.Created;
        data.Timeline.Add(new RunTransition(RunState.Created, RunState.Created, Now, "created", 0));
    }

    public void Start()
    {
        RequireExists();
        if (data.State != RunState.Created)
            throw new RegattaException("invalid_state", $"run '{data.RunId}' is already started (state {data.State})");
        MoveTo(RunState.WaitingForMembers, "started");
    }

    public void Pause()
    {
        RequireExists();
        RequireNotTerminal("pause");
        if (data.State == RunState.Paused) throw new RegattaException("invalid_state", $"run '{data.RunId}' is already paused");
        data.PausedFrom = data.State;
        data.PausedAt = Now;
        MoveTo(RunState.Paused, "paused by operator");
    }

    public void Resume()
    {
        RequireExists();
        if (data.State != RunState.Paused || data.PausedFrom is not { } from)
            throw new RegattaException("invalid_state", $"run '{data.RunId}' is not paused (state {data.State})");
        // Time spent paused does not count against deadlines or phases.
        var paused = Now - (data.PausedAt ?? Now);
        data.PhaseEndsAt += paused;
        if (data.Current is { } round)
        {
            round.Deadline += paused;
            round.WitnessDeadline += paused;
        }
        data.PausedFrom = null;
        data.PausedAt = null;
        MoveTo(from, "resumed by operator");
        Advance();
    }

    public void Cancel(string reason)
    {
        RequireExists();
        RequireNotTerminal("cancel");
        CloseOpenJobs(JobResult.Cancelled, "run cancelled");
        CloseReadinessJobs(JobResult.Cancelled, "run cancelled");
        data.PausedFrom = null;
        MoveTo(RunState.Cancelled, string.IsNullOrWhiteSpace(reason) ? "cancelled" : reason);
        _effects.Add(new RunEnded(RunState.Cancelled));
    }

    public void Fail(string reason)
    {
        if (data.State.IsTerminal()) return;
        CloseOpenJobs(JobResult.Cancelled, "run failed: " + reason);
        CloseReadinessJobs(JobResult.Cancelled, "run failed: " + reason);
        data.FailureReason = reason;
        data.PausedFrom = null;
        MoveTo(RunState.Failed, reason);
        _effects.Add(new RunEnded(RunState.Failed));
    }

    /// <summary>
    /// Keeps only the hash of the spec's join token and takes the token out of the spec (which views, the run kit and
    /// assignments carry). Also the migration of a run stored with a plain token: true when the data changed.
    /// </summary>
    public bool ProtectJoinToken()
    {
        if (data.Spec?.JoinToken is not { } token) return false;
        data.JoinTokenHash = JoinTokens.Hash(token);
        data.Spec = data.Spec with { JoinToken = null };
        return true;
    }

    /// <summary>Whether <paramref name="presented"/> is this run's join token (constant-time; false when the run has none).</summary>
    public bool IsJoinToken(string? presented) => JoinTokens.Matches(data.JoinTokenHash, presented);

    /// <summary>
    /// Whether a worker of this approval may join; true when it is pending and admitted by the run's join token (to this
    /// run only: it stays pending for everything else). Throws with the reason when it may not join.
    /// </summary>
    public bool Admits(string workerId, ApprovalStatus approval, string? joinToken)
    {
        RequireExists();
        return approval switch
        {
            ApprovalStatus.Unregistered => throw new RegattaException("unknown_worker", $"worker '{workerId}' is not registered"),
            ApprovalStatus.Rejected => throw new RegattaException("rejected", $"worker '{workerId}' was rejected and cannot join"),
            ApprovalStatus.Pending when IsJoinToken(joinToken) => true,
            ApprovalStatus.Pending => throw new RegattaException("not_approved", joinToken is null
                ? $"worker '{workerId}' is pending approval; an operator must approve it or it must present the run's join token"
                : $"worker '{workerId}' is pending approval and the join token it presented does not match run '{data.RunId}'"),
            _ => false,
        };
    }

    /// <summary>A worker asks to join; it becomes a member at the next tick.</summary>
    public MemberStatus Join(string workerId)
    {
        RequireExists();
        RequireNotTerminal("join");
        if (data.Members.TryGetValue(workerId, out var member) && member.Status == MemberStatus.Active)
            return MemberStatus.Active;
        if (!data.PendingJoiners.Contains(workerId)) data.PendingJoiners.Add(workerId);
        return MemberStatus.Pending;
    }

    /// <summary>A member left or went offline: it is dropped, its open jobs close, and the round goes on without it.</summary>
    public void Drop(string workerId, string reason)
    {
        DropMember(workerId, reason);
        if (!data.State.IsTerminal()) Advance();
    }

    private void DropMember(string workerId, string reason)
    {
        data.PendingJoiners.Remove(workerId);
        if (!data.Members.TryGetValue(workerId, out var member) || member.Status != MemberStatus.Active) return;
        data.Members[workerId] = member with { Status = MemberStatus.Dropped, DropReason = reason };
        _effects.Add(new MembershipChanged(workerId, false));
        if (data.Readiness.Remove(workerId, out var readiness))
        {
            if (!readiness.KitConfirmed) _effects.Add(new CloseJob(readiness.ProvisionJob, workerId, JobResult.Cancelled, $"member dropped: {reason}"));
            if (!readiness.Answered) _effects.Add(new CloseJob(readiness.EchoJob, workerId, JobResult.Cancelled, $"member dropped: {reason}"));
        }
        if (data.Current is { } round)
        {
            if (round.TrainJobs.TryGetValue(workerId, out var trainJob) && !round.HasReported(workerId))
            {
                round.Abandoned.Add(workerId);
                _effects.Add(new CloseJob(trainJob, workerId, JobResult.Cancelled, $"member dropped: {reason}"));
            }
            if (round.WitnessJobs.TryGetValue(workerId, out var witnessJob) && round.Attestations.All(a => a.WorkerId != workerId))
            {
                round.Attestations.Add(new Attestation(workerId, witnessJob, "", double.NaN, double.NaN, double.NaN, false, "member dropped"));
                _effects.Add(new CloseJob(witnessJob, workerId, JobResult.Cancelled, $"member dropped: {reason}"));
            }
        }
    }

    /// <summary>A member's provisioning job (kit confirmed) or echo job (connectivity) closed.</summary>
    public bool ReadinessReported(string workerId, string jobId, JobKind kind, bool succeeded, string? error)
    {
        if (data.State.IsTerminal() || !data.Readiness.TryGetValue(workerId, out var readiness)) return false;
        var isProvision = kind == JobKind.Provision && readiness.ProvisionJob == jobId && !readiness.KitConfirmed;
        var isEcho = kind == JobKind.Echo && readiness.EchoJob == jobId && !readiness.Answered;
        if (!isProvision && !isEcho) return false; // stale or duplicate
        if (!succeeded)
        {
            var why = isProvision ? $"run kit not confirmed: {error ?? "provisioning failed"}" : $"connectivity echo failed: {error ?? "no answer"}";
            AddReport(new RunReport(Now, "error", workerId, why, isProvision ? "download" : "connect"));
            Drop(workerId, why);
            return true;
        }
        if (isProvision) readiness.KitConfirmed = true;
        else readiness.Answered = true;
        if (data.Members.TryGetValue(workerId, out var member))
            data.Members[workerId] = member with { KitConfirmed = readiness.KitConfirmed, Reachable = readiness.Answered };
        Advance();
        return true;
    }

    /// <summary>True when this job is the open train job of the current round for this worker (not stale, not a duplicate).</summary>
    public bool ExpectsTrainReport(string workerId, string jobId) =>
        data.Current is { } round && round.TrainJobs.TryGetValue(workerId, out var expected) && expected == jobId
        && !round.HasReported(workerId) && round.CandidateHash is null && !data.State.IsTerminal();

    /// <summary>A train job reported: its update was accepted (after the grain checked it) or refused with a reason.</summary>
    public bool TrainReported(string workerId, string jobId, AcceptedUpdate? accepted, string? refusal)
    {
        if (!ExpectsTrainReport(workerId, jobId)) return false; // stale round, duplicate or unknown job: ignored
        var round = data.Current!;
        if (accepted is not null && ExampleWeights.Note(Spec, accepted) is { } note)
            AddReport(new RunReport(Now, "warning", workerId, note, "train"));
        if (accepted is not null) round.Accepted.Add(accepted);
        else round.Refused.Add(new RefusedUpdate(workerId, jobId, refusal ?? "refused"));
        Advance();
        return true;
    }

    /// <summary>
    /// The grain aggregated the accepted updates into a candidate (or found it unusable). A candidate whose held-out loss
    /// is worse than the last committed round's beyond the witnesses' tolerance is refused here. Returns why the
    /// candidate was refused, or null.
    /// </summary>
    public string? CandidateReady(CandidateOutcome outcome)
    {
        // A noised aggregate is a release whether or not it is used (it is stored; witnesses may see it): it is counted
        // even when it arrives stale or while paused, at its round's sampling rate, or at 1 when that round is gone.
        if (outcome.Noised && data.Spec?.Privacy.Dp is { Mode: DpMode.Central } dp)
            PrivacyBudget.Spend(data, dp, data.Current is { } of && of.Round == outcome.Round && of.Attempt == outcome.Attempt ? of.SamplingRate : 1);
        if (data.Current is not { } current || current.Round != outcome.Round || current.Attempt != outcome.Attempt || current.CandidateHash is not null)
            return null;
        // While paused nothing moves; the grain aggregates again after Resume, since the round still has no candidate.
        if (data.State != RunState.RoundWitness) return null;
        var refusal = outcome.CandidateHash is null ? outcome.Refusal ?? "no candidate" : ValidationRefusal(outcome.ValidationLoss);
        if (refusal is not null)
        {
            RetryRound($"candidate refused: {refusal}");
            return refusal;
        }
        if (outcome.OptimizerHash is not null) data.ServerOptimizerHash = outcome.OptimizerHash;
        var round = outcome.Round;
        var attempt = outcome.Attempt;
        var candidateHash = outcome.CandidateHash!;
        current.CandidateHash = candidateHash;
        current.ValidationLoss = outcome.ValidationLoss;
        current.ValidationAccuracy = outcome.ValidationAccuracy;
        current.WitnessDeadline = Now + Spec.WitnessDeadline;
        var active = ReadyMembers();
        current.Witnesses = Selection.SelectWitnesses(active, current.Selected, Spec.Witnesses.Count, Spec.Seed, round, attempt);
        foreach (var witness in current.Witnesses)
        {
            var jobId = JobId(JobKind.Witness, witness, round, attempt);
            current.WitnessJobs[witness] = jobId;
            _effects.Add(new OpenJob(jobId, JobKind.Witness, witness, round, attempt, candidateHash, data.GlobalModelHash,
                data.Members[witness].Partition, current.WitnessDeadline));
        }
        Advance();
        return null;
    }

    public string? CandidateReady(int round, int attempt, string? candidateHash, string? refusal, double validationLoss = double.NaN, double validationAccuracy = double.NaN) =>
        CandidateReady(new CandidateOutcome(round, attempt, candidateHash, refusal, validationLoss, validationAccuracy));

    /// <summary>The coordinator's held-out check of a candidate against the last committed round; null when it passes.</summary>
    private string? ValidationRefusal(double loss)
    {
        var previous = data.History.LastOrDefault()?.ValidationLoss ?? double.NaN;
        if (!double.IsFinite(loss)) return null; // no held-out set (RoundCandidates refuses a non-finite evaluation)
        return WorseBeyondTolerance(loss, previous)
            ? $"server validation loss {loss:F4} is worse than the committed {previous:F4} beyond tolerance"
            : null;
    }

    /// <summary>The one rule for "this candidate's loss is too much worse than the reference" (witnesses and coordinator alike).</summary>
    private bool WorseBeyondTolerance(double loss, double reference) =>
        double.IsFinite(reference) && loss > reference * (1 + Spec.Witnesses.LossTolerance) + 1e-9;

    /// <summary>A witness attested (or failed to).</summary>
    public bool WitnessReported(string workerId, string jobId, bool succeeded, string? modelHash, double loss, double accuracy, double baseLoss, string? error)
    {
        if (data.Current is not { } round || !round.WitnessJobs.TryGetValue(workerId, out var expected) || expected != jobId
            || round.Attestations.Any(a => a.WorkerId == workerId) || data.State.IsTerminal())
            return false;
        string? reason = null;
        if (!succeeded) reason = error ?? "witness job failed";
        else if (modelHash != round.CandidateHash) reason = $"attested model {modelHash} is not the candidate {round.CandidateHash}";
        else if (!double.IsFinite(loss)) reason = "candidate loss is not finite";
        else if (WorseBeyondTolerance(loss, baseLoss))
            reason = $"candidate loss {loss:F4} is worse than the current model's {baseLoss:F4} beyond tolerance {Spec.Witnesses.LossTolerance}";
        round.Attestations.Add(new Attestation(workerId, jobId, modelHash ?? "", loss, accuracy, baseLoss, reason is null, reason));
        Advance();
        return true;
    }

    public void AddReport(RunReport report)
    {
        _recorded++; // counted, not read off the list, which is capped
        data.Reports.Add(report);
        const int keep = 500;
        if (data.Reports.Count > keep) data.Reports.RemoveRange(0, data.Reports.Count - keep);
    }

    /// <summary>
    /// Restore: a checkpoint (the last unless <paramref name="round"/> names one) becomes the global model and rounds
    /// resume after it; the rounds and checkpoints after it leave the history (their blobs stay in the store).
    /// </summary>
    public void Restore(int? round = null)
    {
        RequireExists();
        if (data.Checkpoints.Count == 0) throw new RegattaException("no_checkpoint", $"run '{data.RunId}' has no checkpoint to restore");
        var last = round is { } wanted
            ? data.Checkpoints.LastOrDefault(c => c.Round == wanted) ?? throw new RegattaException("no_checkpoint",
                $"run '{data.RunId}' has no checkpoint of round {wanted}; it has rounds {string.Join(", ", data.Checkpoints.Select(c => c.Round))}")
            : data.Checkpoints[^1];
        CloseOpenJobs(JobResult.Cancelled, "run restored from checkpoint");
        data.Checkpoints.RemoveAll(c => c.Round > last.Round);
        data.GlobalModelHash = last.ModelHash;
        data.History.RemoveAll(r => r.Round > last.Round);
        data.Round = last.Round;
        data.Current = null;
        data.Generation++;
        data.FailureReason = null;
        data.PausedFrom = null;
        MoveTo(RunState.WaitingForMembers, $"restored from checkpoint of round {last.Round}");
    }

    /// <summary>
    /// The periodic tick: admit joiners, then move through every transition whose condition holds now. Returns false
    /// when nothing was due (the run's data is as it was), so a quiet tick, the common case, costs its grain no write
    /// of the whole run (at 10k members, megabytes every second).
    /// </summary>
    public bool Tick()
    {
        if (!data.Exists || data.State.IsTerminal() || data.State is RunState.Created or RunState.Paused) return false;
        // Every change a tick can make records a transition or a report, admits joiners, or asks for an effect.
        var before = (_recorded, _effects.Count);
        var admitting = data.PendingJoiners.Count > 0;
        AdmitJoiners();
        Advance();
        return admitting || (_recorded, _effects.Count) != before;
    }

    private void Advance()
    {
        // Each step either transitions (and we look again) or says there is nothing to do yet.
        for (var guard = 0; guard < 32 && Step(); guard++) { }
    }

    private bool Step()
    {
        if (DropUnreadyPastDeadline()) return true;
        // A count, not the sorted list: every tick of a large run steps here (sorting 10k ids cost ~10 ms a tick).
        var active = ActiveCount();
        switch (data.State)
        {
            case RunState.WaitingForMembers when active >= Spec.MinClients:
                data.PhaseEndsAt = Now + Spec.Warmup;
                MoveTo(RunState.Warmup, $"{active} members (min {Spec.MinClients})");
                return true;
            // After the last round is committed there is nothing left to wait for: Cooldown finishes the run.
            case RunState.Warmup or RunState.RoundTrain or RunState.RoundWitness or RunState.Cooldown
                when active < Spec.MinClients && !(data.State == RunState.Cooldown && data.Round >= Spec.Rounds):
                CloseOpenJobs(JobResult.Cancelled, "members fell below minClients");
                if (data.Current is not null) data.Generation++;
                data.Current = null;
                MoveTo(RunState.WaitingForMembers, $"members fell to {active} (min {Spec.MinClients})");
                return true;
            case RunState.Warmup when Now >= data.PhaseEndsAt && AllActiveReady():
                // Resume the round in progress; never train a committed one again (after a restore, or members lost in cooldown).
                data.Round = Math.Max(data.Round, (data.History.Count > 0 ? data.History[^1].Round : 0) + 1);
                data.Attempt = 1;
                BeginRound(ReadyMembers(), "warmup elapsed; members provisioned");
                return true;
            case RunState.RoundTrain:
                return StepTrain();
            case RunState.RoundWitness:
                return StepWitness();
            case RunState.Cooldown when Now >= data.PhaseEndsAt:
                var last = data.History[^1];
                var reached = Spec.TargetAccuracy > 0 && BestAccuracy(last) >= Spec.TargetAccuracy;
                if (data.Round >= Spec.Rounds || reached)
                {
                    data.Current = null;
                    MoveTo(RunState.Finished, reached ? $"target accuracy {Spec.TargetAccuracy} reached" : $"{Spec.Rounds} rounds done");
                    _effects.Add(new RunEnded(RunState.Finished));
                    return false;
                }
                data.Round++;
                data.Attempt = 1;
                BeginRound(ReadyMembers(), "next round");
                return true;
            default:
                return false;
        }
    }

    private bool StepTrain()
    {
        var round = data.Current!;
        if (Spec.Privacy.SecureAggregation)
        {
            // The round's SecAggRoundGrain decides (SecAggFinished); this is the backstop for one that never reports
            // (its activation was lost): the input deadline plus the unmasking phase and slack.
            if (Now < SecAggBackstop(round)) return false;
            RetryRound("secure aggregation did not finish by the round's deadline");
            return data.State == RunState.RoundTrain;
        }
        var reported = round.Reported(); // one set per step: asking HasReported per member was O(N²) at 10k members
        var waiting = round.Selected.Where(w => !reported.Contains(w) && IsActive(w)).ToList();
        var needed = Math.Min(Spec.MinUpdates, round.Selected.Count);
        var enough = round.Accepted.Count >= needed;
        if (waiting.Count == 0 || Now >= round.Deadline)
        {
            if (!enough)
            {
                var why = waiting.Count == 0
                    ? $"all selected reported but only {round.Accepted.Count} updates accepted (min {needed})"
                    : $"deadline passed with {round.Accepted.Count} updates (min {needed})";
                RetryRound(why);
                return data.State == RunState.RoundTrain;
            }
            foreach (var w in waiting)
            {
                round.Abandoned.Add(w);
                _effects.Add(new CloseJob(round.TrainJobs[w], w, JobResult.Timeout, "round deadline passed"));
            }
            MoveTo(RunState.RoundWitness, $"{round.Accepted.Count} updates accepted, {round.Refused.Count} refused");
            _effects.Add(new AggregateRound(round.Round, round.Attempt));
            return false; // the candidate arrives through CandidateReady
        }
        return false;
    }

    private DateTimeOffset SecAggBackstop(RoundProgress round) => round.Deadline + 3 * Spec.Privacy.SecAggPhaseTimeout;

    /// <summary>
    /// A round's secure aggregation ended. Failed (fewer than t members finished a phase): the round is retried under
    /// maxRoundAttempts. Done: the survivors' jobs close as accepted (their updates are in the sum; each weighs what it
    /// masked), the others as dropped out, and the grain builds the candidate from the sum. False when stale.
    /// </summary>
    public bool SecAggFinished(int roundNumber, int attempt, IReadOnlyCollection<string> survivors, string? failure)
    {
        if (data.Current is not { } round || round.Round != roundNumber || round.Attempt != attempt
            || data.State != RunState.RoundTrain || round.CandidateHash is not null) return false;
        if (failure is not null)
        {
            RetryRound(failure);
            return true;
        }
        foreach (var worker in round.Selected)
        {
            if (round.HasReported(worker) || !round.TrainJobs.TryGetValue(worker, out var job)) continue;
            if (survivors.Contains(worker))
            {
                round.Accepted.Add(new AcceptedUpdate(worker, job, SecAggUpdate, 1, double.NaN));
                _effects.Add(new CloseJob(job, worker, JobResult.Success, "masked input counted in the secure aggregate"));
            }
            else
            {
                round.Abandoned.Add(worker);
                _effects.Add(new CloseJob(job, worker, JobResult.Timeout, "dropped out of the secure aggregation"));
            }
        }
        MoveTo(RunState.RoundWitness, $"secure aggregation: {round.Accepted.Count} members in the sum, {round.Selected.Count - round.Accepted.Count} dropped out");
        _effects.Add(new AggregateRound(round.Round, round.Attempt));
        return true;
    }

    /// <summary>The update "hash" of a member whose masked input is in a secure aggregate: there is no blob of it.</summary>
    public const string SecAggUpdate = "secure-aggregate";

    private bool StepWitness()
    {
        var round = data.Current!;
        if (round.CandidateHash is null) return false; // aggregation in progress
        var quorum = Math.Min(Spec.Witnesses.Quorum, round.Witnesses.Count);
        var agree = round.Attestations.Count(a => a.Agrees);
        var disagree = round.Attestations.Count(a => !a.Agrees);
        if (agree >= quorum)
        {
            Commit(round);
            return true;
        }
        if (round.Witnesses.Count - disagree < quorum)
        {
            var reasons = string.Join("; ", round.Attestations.Where(a => !a.Agrees).Select(a => $"{a.WorkerId}: {a.Reason}"));
            RetryRound($"witnesses rejected the candidate ({reasons})");
            return true;
        }
        if (Now >= round.WitnessDeadline)
        {
            RetryRound($"witness deadline passed with {agree} of {quorum} attestations");
            return true;
        }
        return false;
    }

    private void Commit(RoundProgress round)
    {
        foreach (var (worker, job) in round.WitnessJobs.Where(w => round.Attestations.All(a => a.WorkerId != w.Key)))
            _effects.Add(new CloseJob(job, worker, JobResult.Cancelled, "quorum reached without this witness"));
        var agreeing = round.Attestations.Where(a => a.Agrees).ToList();
        var record = new RoundRecord
        {
            Round = round.Round,
            Attempts = round.Attempt,
            Selected = [.. round.Selected],
            Witnesses = [.. round.Witnesses],
            UpdatesAccepted = round.Accepted.Count,
            UpdatesRefused = round.Refused.Count,
            StartedAt = round.StartedAt,
            EndedAt = Now,
            ModelHash = round.CandidateHash,
            TrainLoss = round.Accepted.Count > 0 ? round.Accepted.Average(a => a.TrainLoss) : double.NaN,
            WitnessLoss = agreeing.Count > 0 ? agreeing.Average(a => a.Loss) : double.NaN,
            WitnessAccuracy = agreeing.Count > 0 ? agreeing.Average(a => a.Accuracy) : double.NaN,
            ValidationLoss = round.ValidationLoss,
            ValidationAccuracy = round.ValidationAccuracy,
            RefusalReasons = round.Refused.Select(r => $"{r.WorkerId}: {r.Reason}").ToList(),
            Epsilon = Spec.Privacy.Dp is null ? double.NaN : data.Epsilon,
        };
        data.History.Add(record);
        data.GlobalModelHash = round.CandidateHash;
        if (data.Round % Spec.CheckpointEvery == 0 || data.Round >= Spec.Rounds)
            data.Checkpoints.Add(new Checkpoint(data.Round, round.CandidateHash!, Now));
        data.Current = null;
        data.PhaseEndsAt = Now + Spec.Cooldown;
        MoveTo(RunState.Cooldown, $"round {record.Round} committed by {agreeing.Count} witnesses");
        _effects.Add(new RoundCommitted(record));
    }

    private void BeginRound(List<string> active, string reason)
    {
        var selected = Selection.SelectClients(active, Spec.Selection, Spec.Seed, data.Round, data.Attempt);
        var round = new RoundProgress
        {
            Round = data.Round,
            Attempt = data.Attempt,
            StartedAt = Now,
            Deadline = Now + Spec.RoundDeadline,
            Selected = selected,
        };
        if (Spec.Privacy.Dp is { } dp)
        {
            round.SamplingRate = PrivacyBudget.SamplingRate(dp, selected.Count, active.Count);
            if (PrivacyBudget.Exhausted(data, dp, round.SamplingRate) is { } exhausted)
            {
                data.Current = null;
                MoveTo(RunState.Finished, exhausted);
                _effects.Add(new RunEnded(RunState.Finished));
                return;
            }
            if (dp.Mode == DpMode.Local) PrivacyBudget.Spend(data, dp, round.SamplingRate); // each selected member will upload a noised update
        }
        foreach (var worker in selected)
        {
            var jobId = JobId(JobKind.Train, worker, data.Round, data.Attempt);
            round.TrainJobs[worker] = jobId;
            _effects.Add(new OpenJob(jobId, JobKind.Train, worker, data.Round, data.Attempt, data.GlobalModelHash ?? "",
                null, data.Members[worker].Partition, round.Deadline));
        }
        data.Current = round;
        if (Spec.Privacy.SecureAggregation) _effects.Add(new OpenSecAgg(data.Round, data.Attempt, [.. selected], round.Deadline));
        MoveTo(RunState.RoundTrain, $"round {data.Round} attempt {data.Attempt}: {selected.Count} selected ({reason})");
    }

    private void RetryRound(string reason)
    {
        CloseOpenJobs(JobResult.Timeout, reason);
        AddReport(new RunReport(Now, "warning", "coordinator", $"round {data.Round} attempt {data.Attempt} failed: {reason}"));
        if (data.Attempt >= Spec.MaxRoundAttempts)
        {
            Fail($"round {data.Round} failed {data.Attempt} times; last: {reason}");
            return;
        }
        data.Attempt++;
        BeginRound(ReadyMembers(), "retry: " + reason);
    }

    private void AdmitJoiners()
    {
        foreach (var worker in data.PendingJoiners)
        {
            var partition = data.Members.TryGetValue(worker, out var previous) ? previous.Partition : data.NextPartition++ % Math.Max(1, Spec.Data.Partitions);
            data.Members[worker] = new RunMember(worker, MemberStatus.Active, Now, null, partition);
            _effects.Add(new MembershipChanged(worker, true));
            if (data.KitHash is not null) Provision(worker);
        }
        data.PendingJoiners.Clear();
    }

    /// <summary>When the run ends, provisioning still in flight is called off too.</summary>
    private void CloseReadinessJobs(JobResult result, string reason)
    {
        foreach (var (worker, readiness) in data.Readiness)
        {
            if (!readiness.KitConfirmed) _effects.Add(new CloseJob(readiness.ProvisionJob, worker, result, reason));
            if (!readiness.Answered) _effects.Add(new CloseJob(readiness.EchoJob, worker, result, reason));
        }
        data.Readiness.Clear();
    }

    private void CloseOpenJobs(JobResult result, string reason)
    {
        if (data.Current is not { } round) return;
        var reported = round.Reported();
        foreach (var (worker, job) in round.TrainJobs)
        {
            if (reported.Contains(worker)) continue;
            round.Abandoned.Add(worker);
            _effects.Add(new CloseJob(job, worker, result, reason));
        }
        foreach (var (worker, job) in round.WitnessJobs)
        {
            if (round.Attestations.Any(a => a.WorkerId == worker)) continue;
            round.Attestations.Add(new Attestation(worker, job, "", double.NaN, double.NaN, double.NaN, false, reason));
            _effects.Add(new CloseJob(job, worker, result, reason));
        }
    }

    private void MoveTo(RunState to, string reason)
    {
        _recorded++;
        data.Timeline.Add(new RunTransition(data.State, to, Now, reason, data.Round));
        data.State = to;
    }

    /// <summary>Opens the member's kit download and connectivity echo; it trains once both are answered.</summary>
    private void Provision(string worker)
    {
        var n = ++data.Admissions;
        var readiness = new Readiness
        {
            ProvisionJob = $"{data.RunId}.provision.{n}.{worker}",
            EchoJob = $"{data.RunId}.echo.{n}.{worker}",
            Deadline = Now + Spec.ProvisionTimeout,
        };
        data.Readiness[worker] = readiness;
        _effects.AddRange(ReadinessJobs(worker, readiness));
    }

    /// <summary>
    /// The jobs a member still owes on its way to its first round: the kit's confirmation and the connectivity echo. Also
    /// what a grain replays after a crash between persisting and acting (ids are deterministic, so opening is idempotent).
    /// </summary>
    public IEnumerable<OpenJob> ReadinessJobs(string worker, Readiness readiness)
    {
        var partition = data.Members.TryGetValue(worker, out var member) ? member.Partition : 0;
        // The kit names the initial model, which provisioning downloads: the assignment names it so the worker may.
        if (!readiness.KitConfirmed)
            yield return new OpenJob(readiness.ProvisionJob, JobKind.Provision, worker, data.Round, 0, data.KitHash!, data.InitialModelHash ?? data.GlobalModelHash, partition, readiness.Deadline);
        if (!readiness.Answered)
            yield return new OpenJob(readiness.EchoJob, JobKind.Echo, worker, data.Round, 0, data.KitHash!, null, partition, readiness.Deadline);
    }

    /// <summary>
    /// Every job the run has asked for and not yet heard back from: what the grain opens again after a crash between
    /// persisting and acting (job ids are deterministic and opening is idempotent, so a job that did open is untouched).
    /// </summary>
    public List<OpenJob> ReplayOpenJobs()
    {
        var jobs = new List<OpenJob>();
        foreach (var (worker, r) in data.Readiness.Where(r => IsActive(r.Key)))
            jobs.AddRange(ReadinessJobs(worker, r));
        if (data.Current is not { } round) return jobs;
        var reported = round.Reported();
        foreach (var (worker, job) in round.TrainJobs.Where(j => !reported.Contains(j.Key)))
            jobs.Add(new OpenJob(job, JobKind.Train, worker, round.Round, round.Attempt, data.GlobalModelHash ?? "", null,
                data.Members[worker].Partition, round.Deadline));
        if (round.CandidateHash is { } candidate)
            foreach (var (worker, job) in round.WitnessJobs.Where(j => round.Attestations.All(a => a.WorkerId != j.Key)))
                jobs.Add(new OpenJob(job, JobKind.Witness, worker, round.Round, round.Attempt, candidate, data.GlobalModelHash,
                    data.Members[worker].Partition, round.WitnessDeadline));
        return jobs;
    }

    private bool DropUnreadyPastDeadline()
    {
        if (data.State is RunState.Paused || data.State.IsTerminal()) return false;
        var late = data.Readiness.Where(r => !r.Value.Ready && Now >= r.Value.Deadline && IsActive(r.Key)).ToList();
        foreach (var (worker, readiness) in late)
        {
            var why = !readiness.KitConfirmed
                ? $"did not confirm the run kit within {Spec.ProvisionTimeout.TotalSeconds:0.#} s"
                : $"did not answer the connectivity echo within {Spec.ProvisionTimeout.TotalSeconds:0.#} s";
            AddReport(new RunReport(Now, "error", worker, why, readiness.KitConfirmed ? "connect" : "download"));
            if (!readiness.KitConfirmed) _effects.Add(new CloseJob(readiness.ProvisionJob, worker, JobResult.Timeout, why));
            if (!readiness.Answered) _effects.Add(new CloseJob(readiness.EchoJob, worker, JobResult.Timeout, why));
            readiness.KitConfirmed = readiness.Answered = true; // closed above; DropMember must not close them again
            DropMember(worker, why);
        }
        return late.Count > 0;
    }

    private bool IsReady(string worker) =>
        data.KitHash is null || data.Readiness.TryGetValue(worker, out var r) && r.Ready;

    /// <summary>Active members that are ready, in id order (selection is seeded, so its input order must not vary).</summary>
    private List<string> ReadyMembers()
    {
        var ready = new List<string>();
        foreach (var m in data.Members.Values)
            if (m.Status == MemberStatus.Active && IsReady(m.WorkerId)) ready.Add(m.WorkerId);
        ready.Sort(StringComparer.Ordinal);
        return ready;
    }

    private int ActiveCount()
    {
        var count = 0;
        foreach (var m in data.Members.Values)
            if (m.Status == MemberStatus.Active) count++;
        return count;
    }

    private bool AllActiveReady()
    {
        foreach (var m in data.Members.Values)
            if (m.Status == MemberStatus.Active && !IsReady(m.WorkerId)) return false;
        return true;
    }

    private bool IsActive(string worker) => data.Members.TryGetValue(worker, out var m) && m.Status == MemberStatus.Active;

    private static double BestAccuracy(RoundRecord r) => double.IsFinite(r.ValidationAccuracy) ? r.ValidationAccuracy : r.WitnessAccuracy;

    /// <summary>Deterministic, so replaying an OpenJob after a crash reaches the same JobGrain.</summary>
    private string JobId(JobKind kind, string worker, int round, int attempt) =>
        $"{data.RunId}.{kind.ToString().ToLowerInvariant()}.r{round}.a{attempt}{(data.Generation > 0 ? $"g{data.Generation}" : "")}.{worker}";

    private void RequireExists()
    {
        if (!data.Exists) throw new RegattaException("unknown_run", $"run '{data.RunId}' does not exist");
    }

    private void RequireNotTerminal(string action)
    {
        if (data.State.IsTerminal())
            throw new RegattaException("invalid_state", $"cannot {action} run '{data.RunId}': it is {data.State}");
    }

    /// <summary>The run's line in the run list.</summary>
    public RunSummary ToSummary()
    {
        var best = data.History.Select(BestAccuracy).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max();
        return new RunSummary(data.RunId, data.Spec?.Name ?? data.RunId, data.State, data.Round,
            ActiveCount(), best, data.CreatedAt);
    }

    public RunView ToView()
    {
        var last = data.History.LastOrDefault();
        return new RunView
        {
            RunId = data.RunId,
            State = data.State,
            PausedFrom = data.PausedFrom,
            Round = data.Round,
            Attempt = data.Attempt,
            Spec = data.Spec ?? new RunSpec(),
            Members = data.Members.Values.OrderBy(m => m.WorkerId, StringComparer.Ordinal).ToList(),
            GlobalModelHash = data.GlobalModelHash,
            Accuracy = last is null ? double.NaN : BestAccuracy(last),
            Loss = last is null ? double.NaN : double.IsFinite(last.ValidationLoss) ? last.ValidationLoss : last.WitnessLoss,
            FailureReason = data.FailureReason,
            CreatedAt = data.CreatedAt,
            CommittedRounds = data.History.Count,
            Checkpoints = [.. data.Checkpoints],
            KitHash = data.KitHash,
            Epsilon = data.Spec?.Privacy.Dp is null ? double.NaN : data.Epsilon,
            InitialAccuracy = data.InitialAccuracy,
            InitialLoss = data.InitialLoss,
        };
    }
}
