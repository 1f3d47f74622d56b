using Regatta.Jobs;

namespace Regatta.Runs;

/// <summary>A training run: its spec, its state machine, its members and rounds. Key: run id.</summary>
[Alias("regatta.IRunGrain")]
public interface IRunGrain : IGrainWithStringKey
{
    /// <summary>Creates the run from a validated spec. Throws RunSpecException listing every error.</summary>
    [Alias("Create")] Task<RunView> Create(RunSpec spec);
    [Alias("Start")] Task<RunView> Start();
    [Alias("Pause")] Task<RunView> Pause();
    [Alias("Resume")] Task<RunView> Resume();
    [Alias("Cancel")] Task<RunView> Cancel(string reason);
    /// <summary>Restores the global model from a checkpoint (the last when <paramref name="round"/> is null) and resumes rounds after it.</summary>
    [Alias("Restore")] Task<RunView> Restore(int? round = null);

    /// <summary>A worker asks to take part. It becomes a member at the next tick.</summary>
    [Alias("Join")] Task<JoinResult> Join(string workerId, string? joinToken);
    /// <summary>A member leaves (or its worker went offline): it is dropped. One-way so a worker grain never waits on a run.</summary>
    [Alias("Leave"), OneWay] Task Leave(string workerId, string reason);

    [Alias("GetView")] Task<RunView> GetView();
    [Alias("GetRounds")] Task<List<RoundRecord>> GetRounds();
    [Alias("GetTimeline")] Task<List<RunTransition>> GetTimeline();
    [Alias("GetReports")] Task<List<RunReport>> GetReports();
    [Alias("AddReport")] Task AddReport(RunReport report);

    /// <summary>Advances the state machine now (the timer and the reminder call this too).</summary>
    [Alias("Tick")] Task<RunView> Tick();

    /// <summary>A job of this run closed; sent by the JobGrain.</summary>
    [Alias("OnJobClosed"), OneWay] Task OnJobClosed(JobRecord job);
    /// <summary>A round's secure aggregation ended (the sum of its survivors, or a failure); sent by the SecAggRoundGrain.</summary>
    [Alias("OnSecAggFinished"), OneWay] Task OnSecAggFinished(SecAggRoundResult result);
}

[Alias("regatta.IRunRegistryGrain")]
public interface IRunRegistryGrain : IGrainWithIntegerKey
{
    [Alias("Add")] Task Add(RunSummary run);
    [Alias("Update")] Task Update(RunSummary run);
    [Alias("List")] Task<Page<RunSummary>> List(int skip, int take);
}

[GenerateSerializer, Alias("regatta.RunSummary")]
public sealed record RunSummary(
    [property: Id(0)] string RunId,
    [property: Id(1)] string Name,
    [property: Id(2)] RunState State,
    [property: Id(3)] int Round,
    [property: Id(4)] int Members,
    [property: Id(5)] double BestAccuracy,
    [property: Id(6)] DateTimeOffset CreatedAt);

[GenerateSerializer, Alias("regatta.Page`1")]
public sealed record Page<T>(
    [property: Id(0)] List<T> Items,
    [property: Id(1)] int Total,
    [property: Id(2)] int Skip);

/// <summary>The spec is invalid; every error names its path.</summary>
[GenerateSerializer, Alias("regatta.RunSpecException")]
public sealed class RunSpecException(IReadOnlyList<string> errors)
    : Exception("Invalid run spec: " + string.Join("; ", errors))
{
    [Id(0)] public List<string> Errors { get; } = [.. errors];
}

