namespace Regatta.Network;

/// <summary>The network's recent usage (bounded) and running totals. Key: 0.</summary>
[Alias("regatta.IUsageLogGrain")]
public interface IUsageLogGrain : IGrainWithIntegerKey
{
    [Alias("Append")] Task Append(UsageEntry entry);
    /// <summary>Newest first, at most <paramref name="limit"/> (and at most <see cref="UsageLimits.KeptEntries"/>).</summary>
    [Alias("Recent")] Task<List<UsageEntry>> Recent(int limit);
    [Alias("Totals")] Task<UsageTotals> Totals();
    /// <summary>A user registered for the first time.</summary>
    [Alias("UserAdded")] Task UserAdded();
}

/// <summary>One inference request: who asked, how many tokens, which workers served it.</summary>
[GenerateSerializer, Alias("regatta.UsageEntry")]
public sealed record UsageEntry
{
    [Id(0)] public string UserId { get; init; } = "";
    [Id(1)] public long PromptTokens { get; init; }
    [Id(2)] public long CompletionTokens { get; init; }
    [Id(3)] public List<string> WorkerIds { get; init; } = [];
    [Id(4)] public DateTimeOffset At { get; init; }
    /// <summary>The inference request this entry accounts for; empty for entries logged through the API.</summary>
    [Id(5)] public string RequestId { get; init; } = "";
}

[GenerateSerializer, Alias("regatta.UsageTotals")]
public sealed record UsageTotals(
    [property: Id(0)] long Users,
    [property: Id(1)] long Requests,
    [property: Id(2)] long PromptTokens,
    [property: Id(3)] long CompletionTokens);

public static class UsageLimits
{
    public const int KeptEntries = 1000;
    public const long MaxTokensPerRequest = 10_000_000;
    public const int MaxWorkersPerRequest = 256;
}
