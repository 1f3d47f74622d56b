using Regatta.Runs;

namespace Regatta.Grains.Runs;

/// <summary>Everything a run persists. The RunLifecycle mutates it; the RunGrain stores it before acting.</summary>
[GenerateSerializer, Alias("regatta.RunData")]
public sealed class RunData
{
    [Id(0)] public string RunId { get; set; } = "";
    [Id(1)] public RunSpec? Spec { get; set; }
    [Id(2)] public RunState State { get; set; } = RunState.Created;
    [Id(3)] public RunState? PausedFrom { get; set; }
    [Id(4)] public DateTimeOffset? PausedAt { get; set; }
    [Id(5)] public Dictionary<string, RunMember> Members { get; set; } = new();
    /// <summary>Workers that asked to join since the last tick, in arrival order.</summary>
    [Id(6)] public List<string> PendingJoiners { get; set; } = [];
    /// <summary>The round in progress (1-based); 0 before the first.</summary>
    [Id(7)] public int Round { get; set; }
    [Id(8)] public RoundProgress? Current { get; set; }
    [Id(9)] public List<RoundRecord> History { get; set; } = [];
    [Id(10)] public string? GlobalModelHash { get; set; }
    [Id(11)] public List<Checkpoint> Checkpoints { get; set; } = [];
    [Id(12)] public List<RunTransition> Timeline { get; set; } = [];
    [Id(13)] public List<RunReport> Reports { get; set; } = [];
    /// <summary>When Warmup or Cooldown ends.</summary>
    [Id(14)] public DateTimeOffset PhaseEndsAt { get; set; }
    [Id(15)] public string? FailureReason { get; set; }
    [Id(16)] public DateTimeOffset CreatedAt { get; set; }
    [Id(17)] public int NextPartition { get; set; }
    /// <summary>Server optimiser state (FedAdam) as a blob hash, so it survives restarts.</summary>
    [Id(18)] public string? ServerOptimizerHash { get; set; }
    [Id(19)] public bool Exists { get; set; }
    /// <summary>The attempt of the current round (1-based).</summary>
    [Id(20)] public int Attempt { get; set; }
    /// <summary>Bumped when a round is started over (members fell away, or a restore), so its jobs get ids never used before.</summary>
    [Id(21)] public int Generation { get; set; }
    /// <summary>The run kit published at start; while set, members must confirm it and answer an echo before they train.</summary>
    [Id(22)] public string? KitHash { get; set; }
    /// <summary>Provisioning of each member admitted since it last joined.</summary>
    [Id(23)] public Dictionary<string, Readiness> Readiness { get; set; } = new();
    /// <summary>Counts admissions, so a member that rejoins gets fresh provisioning job ids.</summary>
    [Id(24)] public int Admissions { get; set; }
    /// <summary>SHA-256 (hex) of the spec's join token; the token itself is never stored (see <see cref="JoinTokens"/>).</summary>
    [Id(25)] public string? JoinTokenHash { get; set; }
    /// <summary>The model the run kit names: a member's provisioning downloads it, so its assignment names it too.</summary>
    [Id(26)] public string? InitialModelHash { get; set; }
    /// <summary>Differential privacy: the RDP spent so far at each of <see cref="Regatta.Grains.Privacy.RdpAccountant.Orders"/> (never rolled back).</summary>
    [Id(27)] public double[]? PrivacyRdp { get; set; }
    /// <summary>The ε those releases spend at the spec's δ.</summary>
    [Id(28)] public double Epsilon { get; set; }
    /// <summary>Releases counted: noised aggregates (central) or round attempts (local).</summary>
    [Id(29)] public int PrivacyReleases { get; set; }
    /// <summary>The initial model on the coordinator's validation set, measured before round 1 (NaN without one).</summary>
    [Id(30)] public double InitialAccuracy { get; set; } = double.NaN;
    [Id(31)] public double InitialLoss { get; set; } = double.NaN;
}

/// <summary>A member's way to its first round: kit confirmed, connectivity echo answered, both by a deadline.</summary>
[GenerateSerializer, Alias("regatta.Readiness")]
public sealed class Readiness
{
    [Id(0)] public string ProvisionJob { get; set; } = "";
    [Id(1)] public string EchoJob { get; set; } = "";
    [Id(2)] public bool KitConfirmed { get; set; }
    [Id(3)] public bool Answered { get; set; }
    [Id(4)] public DateTimeOffset Deadline { get; set; }

    public bool Ready => KitConfirmed && Answered;
}

/// <summary>The round being trained or witnessed.</summary>
[GenerateSerializer, Alias("regatta.RoundProgress")]
public sealed class RoundProgress
{
    [Id(0)] public int Round { get; set; }
    [Id(1)] public int Attempt { get; set; }
    [Id(2)] public DateTimeOffset StartedAt { get; set; }
    [Id(3)] public DateTimeOffset Deadline { get; set; }
    [Id(4)] public List<string> Selected { get; set; } = [];
    [Id(5)] public List<string> Witnesses { get; set; } = [];
    /// <summary>Worker id → train job id.</summary>
    [Id(6)] public Dictionary<string, string> TrainJobs { get; set; } = new();
    /// <summary>Worker id → witness job id.</summary>
    [Id(7)] public Dictionary<string, string> WitnessJobs { get; set; } = new();
    [Id(8)] public List<AcceptedUpdate> Accepted { get; set; } = [];
    [Id(9)] public List<RefusedUpdate> Refused { get; set; } = [];
    [Id(10)] public string? CandidateHash { get; set; }
    [Id(11)] public List<Attestation> Attestations { get; set; } = [];
    [Id(12)] public DateTimeOffset WitnessDeadline { get; set; }
    [Id(13)] public double ValidationLoss { get; set; } = double.NaN;
    [Id(14)] public double ValidationAccuracy { get; set; } = double.NaN;
    /// <summary>Train jobs closed for reasons other than a report (dropped member, failure).</summary>
    [Id(15)] public HashSet<string> Abandoned { get; set; } = [];
    /// <summary>Selected over ready members when the round began: the sampling rate its privacy release counts with.</summary>
    [Id(16)] public double SamplingRate { get; set; } = 1;

    public bool HasReported(string workerId) =>
        Accepted.Any(a => a.WorkerId == workerId) || Refused.Any(r => r.WorkerId == workerId) || Abandoned.Contains(workerId);

    /// <summary>Every member that has reported (or was abandoned), for checks over the whole selection.</summary>
    public HashSet<string> Reported()
    {
        var reported = new HashSet<string>(Abandoned, StringComparer.Ordinal);
        foreach (var a in Accepted) reported.Add(a.WorkerId);
        foreach (var r in Refused) reported.Add(r.WorkerId);
        return reported;
    }
}

/// <summary>An update in the round's aggregate: <see cref="Examples"/> is its weight (<see cref="ExampleWeights"/>), <see cref="ClaimedExamples"/> what its member claimed.</summary>
[GenerateSerializer, Alias("regatta.AcceptedUpdate")]
public sealed record AcceptedUpdate(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] string JobId,
    [property: Id(2)] string UpdateHash,
    [property: Id(3)] double Examples,
    [property: Id(4)] double TrainLoss,
    [property: Id(5)] double ClaimedExamples = double.NaN);

[GenerateSerializer, Alias("regatta.RefusedUpdate")]
public sealed record RefusedUpdate(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] string JobId,
    [property: Id(2)] string Reason);

[GenerateSerializer, Alias("regatta.Attestation")]
public sealed record Attestation(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] string JobId,
    [property: Id(2)] string ModelHash,
    [property: Id(3)] double Loss,
    [property: Id(4)] double Accuracy,
    [property: Id(5)] double BaseLoss,
    [property: Id(6)] bool Agrees,
    [property: Id(7)] string? Reason);
