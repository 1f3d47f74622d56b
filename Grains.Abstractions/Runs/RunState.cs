namespace Regatta.Runs;

/// <summary>The run lifecycle drawn in DESIGN.md.</summary>
[GenerateSerializer, Alias("regatta.RunState")]
public enum RunState
{
    Created,
    WaitingForMembers,
    Warmup,
    RoundTrain,
    RoundWitness,
    Cooldown,
    Finished,
    Paused,
    Cancelled,
    Failed,
}

public static class RunStates
{
    public static bool IsTerminal(this RunState state) =>
        state is RunState.Finished or RunState.Cancelled or RunState.Failed;
}

[GenerateSerializer, Alias("regatta.MemberStatus")]
public enum MemberStatus { Pending, Active, Dropped }
