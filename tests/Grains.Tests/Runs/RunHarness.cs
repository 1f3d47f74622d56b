using Microsoft.Extensions.Time.Testing;
using Regatta.Grains.Runs;
using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>
/// Drives a <see cref="RunLifecycle"/> the way the RunGrain does (command, then take the effects), with a
/// <see cref="FakeTimeProvider"/> so that deadlines, warmup and cooldown are reached by moving time, never by sleeping.
/// </summary>
internal sealed class RunHarness
{
    public const string RunId = "run-1";
    /// <summary>The RunGrain stores the initial weights before Start; the lifecycle only sees the hash.</summary>
    public const string InitialModel = "model-0";
    public static readonly DateTimeOffset T0 = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A small, valid spec with every duration distinct so that a wrong one shows up in an assertion.</summary>
    public static RunSpec DefaultSpec { get; } = new()
    {
        Name = "unit",
        Rounds = 3,
        MinClients = 2,
        MinUpdates = 1,
        Warmup = TimeSpan.FromSeconds(10),
        RoundDeadline = TimeSpan.FromMinutes(2),
        WitnessDeadline = TimeSpan.FromMinutes(1),
        Cooldown = TimeSpan.FromSeconds(5),
        MaxRoundAttempts = 3,
        CheckpointEvery = 1,
        Seed = 7,
        Witnesses = new WitnessSpec { Count = 1, Quorum = 1, LossTolerance = 0.5 },
    };

    public RunHarness(RunSpec? spec = null)
    {
        Time = new FakeTimeProvider(T0);
        Data = new RunData();
        Run = new RunLifecycle(Data, Time);
        Run.Create(RunId, spec ?? DefaultSpec);
        Data.GlobalModelHash = InitialModel;
        Assert.Empty(Run.TakeEffects());
    }

    public FakeTimeProvider Time { get; }
    public RunData Data { get; }
    public RunLifecycle Run { get; }
    public RunSpec Spec => Data.Spec!;
    public DateTimeOffset Now => Time.GetUtcNow();
    public RunState State => Data.State;

    /// <summary>The round in progress; fails the test when there is none.</summary>
    public RoundProgress Round => Data.Current ?? throw new Xunit.Sdk.XunitException($"no round in progress (state {Data.State})");

    public static string Candidate(int round, int attempt = 1) => $"candidate-r{round}a{attempt}";

    public void Advance(TimeSpan by) => Time.Advance(by);

    public List<RunEffect> Effects() => Run.TakeEffects();

    public List<RunEffect> Tick()
    {
        Run.Tick();
        return Run.TakeEffects();
    }

    public List<RunEffect> Do(Action<RunLifecycle> command)
    {
        command(Run);
        return Run.TakeEffects();
    }

    // ---- getting somewhere -------------------------------------------------------------------------

    public void Start()
    {
        Run.Start();
        Run.TakeEffects();
    }

    /// <summary>Workers ask to join and the next tick admits them.</summary>
    public List<RunEffect> Admit(params string[] workers)
    {
        foreach (var worker in workers) Assert.Equal(MemberStatus.Pending, Run.Join(worker));
        return Tick();
    }

    /// <summary>Start, admit the workers, let warmup elapse: round 1 attempt 1 is training. Returns the tick's effects.</summary>
    public List<RunEffect> BeginFirstRound(params string[] workers)
    {
        Start();
        Admit(workers);
        Assert.Equal(RunState.Warmup, State);
        Advance(Spec.Warmup);
        var effects = Tick();
        Assert.Equal(RunState.RoundTrain, State);
        return effects;
    }

    // ---- reports, as the RunGrain passes them on ---------------------------------------------------

    public AcceptedUpdate Update(string worker, double loss = 1.0, double examples = 100) =>
        new(worker, Round.TrainJobs[worker], $"update-{worker}-r{Round.Round}a{Round.Attempt}", examples, loss);

    public List<RunEffect> ReportTrain(string worker, double loss = 1.0, double examples = 100)
    {
        var update = Update(worker, loss, examples);
        Assert.True(Run.TrainReported(worker, update.JobId, update, null), $"report of {worker} was not expected");
        return Run.TakeEffects();
    }

    public List<RunEffect> RefuseTrain(string worker, string reason)
    {
        Assert.True(Run.TrainReported(worker, Round.TrainJobs[worker], null, reason), $"report of {worker} was not expected");
        return Run.TakeEffects();
    }

    public List<RunEffect> ReportAllTrain(double loss = 1.0)
    {
        var effects = new List<RunEffect>();
        foreach (var worker in Round.Selected.ToList())
            effects.AddRange(ReportTrain(worker, loss));
        return effects;
    }

    public List<RunEffect> CandidateReady(string? hash = null, double validationLoss = double.NaN, double validationAccuracy = double.NaN)
    {
        var round = Round;
        Run.CandidateReady(round.Round, round.Attempt, hash ?? Candidate(round.Round, round.Attempt), null, validationLoss, validationAccuracy);
        return Run.TakeEffects();
    }

    public List<RunEffect> CandidateRefused(string reason)
    {
        var round = Round;
        Run.CandidateReady(round.Round, round.Attempt, null, reason);
        return Run.TakeEffects();
    }

    /// <summary>A witness attests; by default it agrees (right hash, loss better than the base).</summary>
    public List<RunEffect> Attest(string witness, string? modelHash = null, double loss = 0.5, double accuracy = 0.8,
        double baseLoss = 1.0, bool succeeded = true, string? error = null)
    {
        var round = Round;
        var hash = modelHash ?? round.CandidateHash;
        Assert.True(Run.WitnessReported(witness, round.WitnessJobs[witness], succeeded, hash, loss, accuracy, baseLoss, error),
            $"attestation of {witness} was not expected");
        return Run.TakeEffects();
    }

    /// <summary>Every selected client reports, the candidate is ready, and witnesses agree until the round commits.</summary>
    public List<RunEffect> CommitRound(double trainLoss = 1.0, double witnessLoss = 0.5, double witnessAccuracy = 0.8,
        double validationLoss = double.NaN, double validationAccuracy = double.NaN)
    {
        var round = Round.Round;
        var effects = ReportAllTrain(trainLoss);
        Assert.Equal(RunState.RoundWitness, State);
        effects.AddRange(CandidateReady(null, validationLoss, validationAccuracy));
        foreach (var witness in Data.Current?.Witnesses.ToList() ?? [])
        {
            if (State != RunState.RoundWitness) break;
            effects.AddRange(Attest(witness, loss: witnessLoss, accuracy: witnessAccuracy));
        }
        Assert.True(Data.History.Count > 0 && Data.History[^1].Round == round, $"round {round} did not commit (state {State})");
        return effects;
    }

    /// <summary>Commits the current round and lets the cooldown elapse; the next round (or Finished) follows.</summary>
    public List<RunEffect> CommitRoundAndCooldown()
    {
        var effects = CommitRound();
        Advance(Spec.Cooldown);
        effects.AddRange(Tick());
        return effects;
    }

    /// <summary>Lets the round deadline pass with whatever has been reported.</summary>
    public List<RunEffect> PassRoundDeadline()
    {
        Advance(Round.Deadline - Now);
        return Tick();
    }

    /// <summary>The jobs the run still waits on: train jobs without a report, witness jobs without an attestation.</summary>
    public HashSet<string> OpenJobIds()
    {
        if (Data.Current is not { } round) return [];
        var open = round.TrainJobs.Where(j => !round.HasReported(j.Key)).Select(j => j.Value).ToHashSet();
        open.UnionWith(round.WitnessJobs.Where(j => round.Attestations.All(a => a.WorkerId != j.Key)).Select(j => j.Value));
        return open;
    }

    public Snapshot Snap() => new(Data.State, Data.PausedFrom, Data.Round, Data.Attempt, Data.Current?.Accepted.Count,
        Data.Current?.Refused.Count, Data.Current?.Attestations.Count, Data.Current?.Abandoned.Count, Data.Current?.CandidateHash,
        Data.Timeline.Count, Data.History.Count, Data.GlobalModelHash, Data.Members.Count(m => m.Value.Status == MemberStatus.Active));
}

/// <summary>What "state unchanged" compares.</summary>
internal sealed record Snapshot(RunState State, RunState? PausedFrom, int Round, int Attempt, int? Accepted, int? Refused,
    int? Attestations, int? Abandoned, string? Candidate, int Timeline, int History, string? GlobalModel, int ActiveMembers);

internal static class EffectListExtensions
{
    public static List<OpenJob> Opened(this IEnumerable<RunEffect> effects, JobKind? kind = null) =>
        effects.OfType<OpenJob>().Where(o => kind is null || o.Kind == kind).ToList();

    public static List<CloseJob> Closed(this IEnumerable<RunEffect> effects) => effects.OfType<CloseJob>().ToList();

    public static HashSet<string> ClosedIds(this IEnumerable<RunEffect> effects) => effects.OfType<CloseJob>().Select(c => c.JobId).ToHashSet();
}
