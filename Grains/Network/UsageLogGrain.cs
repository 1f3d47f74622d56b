using Regatta.Network;

namespace Regatta.Grains.Network;

[GenerateSerializer, Alias("regatta.UsageLogState")]
public sealed class UsageLogState
{
    /// <summary>Oldest first, at most <see cref="UsageLimits.KeptEntries"/>.</summary>
    [Id(0)] public List<UsageEntry> Entries { get; set; } = [];
    [Id(1)] public long Users { get; set; }
    [Id(2)] public long Requests { get; set; }
    [Id(3)] public long PromptTokens { get; set; }
    [Id(4)] public long CompletionTokens { get; set; }
}

/// <summary>The recent usage of the network for dashboards, and totals that outlive the kept entries.</summary>
public sealed class UsageLogGrain(
    [PersistentState("usage", StoreNames.Regatta)] IPersistentState<UsageLogState> state) : Grain, IUsageLogGrain
{
    public async Task Append(UsageEntry entry)
    {
        var s = state.State;
        s.Entries.Add(entry);
        if (s.Entries.Count > UsageLimits.KeptEntries) s.Entries.RemoveRange(0, s.Entries.Count - UsageLimits.KeptEntries);
        s.Requests++;
        s.PromptTokens += entry.PromptTokens;
        s.CompletionTokens += entry.CompletionTokens;
        await state.WriteStateAsync();
    }

    public Task<List<UsageEntry>> Recent(int limit)
    {
        if (limit < 1) throw new RegattaException("bad_limit", "limit: must be at least 1");
        var entries = state.State.Entries;
        return Task.FromResult(Enumerable.Range(0, entries.Count).Reverse().Take(limit).Select(i => entries[i]).ToList());
    }

    public Task<UsageTotals> Totals()
    {
        var s = state.State;
        return Task.FromResult(new UsageTotals(s.Users, s.Requests, s.PromptTokens, s.CompletionTokens));
    }

    public async Task UserAdded()
    {
        state.State.Users++;
        await state.WriteStateAsync();
    }
}
