using Regatta.Jobs;

namespace Regatta.Grains.Runs;

/// <summary>Something the RunGrain must do after it has persisted the transition that asked for it.</summary>
public abstract record RunEffect;

/// <summary>Open a job and hand it to its worker. Idempotent by job id, so replaying it after a crash is safe.</summary>
public sealed record OpenJob(string JobId, JobKind Kind, string WorkerId, int Round, int Attempt,
    string ModelHash, string? BaseModelHash, int Partition, DateTimeOffset Deadline) : RunEffect;

/// <summary>Close a job; it goes through its worker, which holds the open job (see WorkerGrain.CloseJob).</summary>
public sealed record CloseJob(string JobId, string WorkerId, JobResult Result, string Reason) : RunEffect;

/// <summary>Aggregate the accepted updates of the current round into a candidate model.</summary>
public sealed record AggregateRound(int Round, int Attempt) : RunEffect;

public sealed record MembershipChanged(string WorkerId, bool Member) : RunEffect;

public sealed record RoundCommitted(Regatta.Runs.RoundRecord Record) : RunEffect;

public sealed record RunEnded(Regatta.Runs.RunState State) : RunEffect;

/// <summary>Open the round attempt's secure aggregation for its selected members (idempotent).</summary>
public sealed record OpenSecAgg(int Round, int Attempt, List<string> Members, DateTimeOffset InputDeadline) : RunEffect;
