namespace Regatta.Runs;

[GenerateSerializer, Alias("regatta.RunMember")]
public sealed record RunMember(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] MemberStatus Status,
    [property: Id(2)] DateTimeOffset JoinedAt,
    [property: Id(3)] string? DropReason = null,
    [property: Id(4)] int Partition = 0,
    [property: Id(5)] bool KitConfirmed = false,
    [property: Id(6)] bool Reachable = false);

[GenerateSerializer, Alias("regatta.RunTransition")]
public sealed record RunTransition(
    [property: Id(0)] RunState From,
    [property: Id(1)] RunState To,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string Reason,
    [property: Id(4)] int Round);

/// <summary>One committed (or abandoned) round with what it measured.</summary>
[GenerateSerializer, Alias("regatta.RoundRecord")]
public sealed record RoundRecord
{
    [Id(0)] public int Round { get; init; }
    [Id(1)] public int Attempts { get; init; }
    [Id(2)] public List<string> Selected { get; init; } = [];
    [Id(3)] public List<string> Witnesses { get; init; } = [];
    [Id(4)] public int UpdatesAccepted { get; init; }
    [Id(5)] public int UpdatesRefused { get; init; }
    [Id(6)] public DateTimeOffset StartedAt { get; init; }
    [Id(7)] public DateTimeOffset EndedAt { get; init; }
    [Id(8)] public string? ModelHash { get; init; }
    /// <summary>Mean training loss reported by the members.</summary>
    [Id(9)] public double TrainLoss { get; init; } = double.NaN;
    /// <summary>Mean loss and accuracy the witnesses attested.</summary>
    [Id(10)] public double WitnessLoss { get; init; } = double.NaN;
    [Id(11)] public double WitnessAccuracy { get; init; } = double.NaN;
    /// <summary>The coordinator's own held-out evaluation, when the spec has one.</summary>
    [Id(12)] public double ValidationLoss { get; init; } = double.NaN;
    [Id(13)] public double ValidationAccuracy { get; init; } = double.NaN;
    [Id(14)] public List<string> RefusalReasons { get; init; } = [];
    /// <summary>Differential privacy: the ε the run had spent when this round committed (NaN without DP).</summary>
    [Id(15)] public double Epsilon { get; init; } = double.NaN;
}

[GenerateSerializer, Alias("regatta.RunReport")]
public sealed record RunReport(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Severity,
    [property: Id(2)] string Source,
    [property: Id(3)] string Message,
    [property: Id(4)] string? Stage = null);

[GenerateSerializer, Alias("regatta.Checkpoint")]
public sealed record Checkpoint(
    [property: Id(0)] int Round,
    [property: Id(1)] string ModelHash,
    [property: Id(2)] DateTimeOffset At);

/// <summary>What a run looks like from outside. Built afresh for every answer and never changed, so passed by reference.</summary>
[GenerateSerializer, Immutable, Alias("regatta.RunView")]
public sealed record RunView
{
    [Id(0)] public string RunId { get; init; } = "";
    [Id(1)] public RunState State { get; init; }
    [Id(2)] public RunState? PausedFrom { get; init; }
    [Id(3)] public int Round { get; init; }
    [Id(4)] public int Attempt { get; init; }
    [Id(5)] public RunSpec Spec { get; init; } = new();
    [Id(6)] public List<RunMember> Members { get; init; } = [];
    [Id(7)] public string? GlobalModelHash { get; init; }
    [Id(8)] public double Accuracy { get; init; } = double.NaN;
    [Id(9)] public double Loss { get; init; } = double.NaN;
    [Id(10)] public string? FailureReason { get; init; }
    [Id(11)] public DateTimeOffset CreatedAt { get; init; }
    [Id(12)] public int CommittedRounds { get; init; }
    [Id(13)] public List<Checkpoint> Checkpoints { get; init; } = [];
    /// <summary>The run kit members download before their first round (content-addressed).</summary>
    [Id(14)] public string? KitHash { get; init; }
    /// <summary>Differential privacy: the ε spent so far at the spec's δ (NaN without DP).</summary>
    [Id(15)] public double Epsilon { get; init; } = double.NaN;
    /// <summary>The initial model's accuracy and loss on the coordinator's validation set, before round 1 (NaN without one).</summary>
    [Id(16)] public double InitialAccuracy { get; init; } = double.NaN;
    [Id(17)] public double InitialLoss { get; init; } = double.NaN;
}

[GenerateSerializer, Alias("regatta.JoinResult")]
public sealed record JoinResult(
    [property: Id(0)] string RunId,
    [property: Id(1)] MemberStatus Status,
    /// <summary>True when a pending worker was admitted to this run by its join token (it stays pending for anything else).</summary>
    [property: Id(2)] bool AutoApproved);
