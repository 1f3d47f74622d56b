using Regatta.Runs;

namespace Regatta.Grains.Runs;

[GenerateSerializer, Alias("regatta.RunRegistryState")]
public sealed class RunRegistryState
{
    [Id(0)] public Dictionary<string, RunSummary> Runs { get; set; } = new();
}

/// <summary>The list of runs, for paging; each run keeps its own summary here up to date.</summary>
public sealed class RunRegistryGrain(
    [PersistentState("runs", StoreNames.Regatta)] IPersistentState<RunRegistryState> state) : Grain, IRunRegistryGrain
{
    public Task Add(RunSummary run) => Update(run);

    public async Task Update(RunSummary run)
    {
        if (state.State.Runs.TryGetValue(run.RunId, out var old) && Same(old, run)) return;
        state.State.Runs[run.RunId] = run;
        await state.WriteStateAsync();
    }

    public Task<Page<RunSummary>> List(int skip, int take)
    {
        Paging.Check(skip, take);
        var all = state.State.Runs.Values.OrderByDescending(r => r.CreatedAt).ThenBy(r => r.RunId, StringComparer.Ordinal).ToList();
        return Task.FromResult(new Page<RunSummary>(all.Skip(skip).Take(take).ToList(), all.Count, skip));
    }

    // NaN != NaN, so records holding NaN accuracy never compare equal by default.
    private static bool Same(RunSummary a, RunSummary b) =>
        a with { BestAccuracy = 0 } == b with { BestAccuracy = 0 } && a.BestAccuracy.Equals(b.BestAccuracy);
}
