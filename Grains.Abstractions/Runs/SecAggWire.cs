namespace Regatta.Runs;

/// <summary>Where a round's secure aggregation stands (mirrors the protocol's phases; Opening: the run has not opened it yet).</summary>
[GenerateSerializer, Alias("regatta.SecAggRoundPhase")]
public enum SecAggRoundPhase { AdvertiseKeys, ShareKeys, MaskedInput, Unmasking, Done, Failed, Opening }

/// <summary>What a member sends: nothing (a poll), or the message of the phase it answers.</summary>
[GenerateSerializer, Alias("regatta.SecAggStep")]
public enum SecAggStep { Poll, Advertise, Share, Input, Unmask }

/// <summary>A share of one member's secrets sealed for another (AES-GCM); the coordinator relays it and cannot open it.</summary>
[GenerateSerializer, Immutable, Alias("regatta.SecAggSealedShare")]
public sealed record SecAggSealedShare([property: Id(0)] int From, [property: Id(1)] int To, [property: Id(2)] byte[] Sealed);

/// <summary>A member's two public keys, as the roster lists them.</summary>
[GenerateSerializer, Immutable, Alias("regatta.SecAggPublicKeys")]
public sealed record SecAggPublicKeys([property: Id(0)] int Member, [property: Id(1)] byte[] CipherKey, [property: Id(2)] byte[] MaskKey);

/// <summary>
/// A member's message to its round's secure aggregation, sent through its own worker grain (so it speaks only as
/// itself: the member index is the worker's, never an argument).
/// </summary>
[GenerateSerializer, Alias("regatta.SecAggRequest")]
public sealed record SecAggRequest
{
    [Id(0)] public SecAggStep Step { get; init; }
    [Id(1)] public byte[]? CipherKey { get; init; }
    [Id(2)] public byte[]? MaskKey { get; init; }
    [Id(3)] public List<SecAggSealedShare> Shares { get; init; } = [];
    /// <summary>The masked input: uniformly random modulo 2^32 to anyone without the masks.</summary>
    [Id(4)] public uint[]? Masked { get; init; }
    [Id(5)] public Dictionary<int, byte[]> SeedShares { get; init; } = new();
    [Id(6)] public Dictionary<int, byte[]> KeyShares { get; init; } = new();
}

/// <summary>What a member is told: the round's settings, the phase, and only what is addressed to it.</summary>
[GenerateSerializer, Alias("regatta.SecAggReply")]
public sealed record SecAggReply
{
    [Id(0)] public SecAggRoundPhase Phase { get; init; }
    /// <summary>This member's index in the round (from 1).</summary>
    [Id(1)] public int Index { get; init; }
    [Id(2)] public int Threshold { get; init; }
    [Id(3)] public int Length { get; init; }
    [Id(4)] public float Range { get; init; }
    [Id(5)] public int MaxMembers { get; init; }
    /// <summary>From phase ShareKeys on: every advertised member's public keys.</summary>
    [Id(6)] public List<SecAggPublicKeys>? Roster { get; init; }
    /// <summary>From phase MaskedInput on: the shares the other sharers sealed for this member.</summary>
    [Id(7)] public List<SecAggSealedShare>? SharesForYou { get; init; }
    /// <summary>From phase Unmasking on: the members whose masked input arrived.</summary>
    [Id(8)] public List<int>? Survivors { get; init; }
    /// <summary>Why the round failed (phase Failed).</summary>
    [Id(9)] public string? Failure { get; init; }
    /// <summary>Why this request was refused; null when it was taken (or was a poll).</summary>
    [Id(10)] public string? Refusal { get; init; }
}

/// <summary>How the run opens a round's secure aggregation: its members in index order and the agreed settings.</summary>
[GenerateSerializer, Immutable, Alias("regatta.SecAggRoundConfig")]
public sealed record SecAggRoundConfig(
    [property: Id(0)] string RunId,
    [property: Id(1)] int Round,
    [property: Id(2)] int Attempt,
    [property: Id(3)] List<string> Members,
    [property: Id(4)] int Threshold,
    [property: Id(5)] int Length,
    [property: Id(6)] float Range,
    [property: Id(7)] DateTimeOffset InputDeadline,
    [property: Id(8)] TimeSpan PhaseTimeout);

/// <summary>A round's secure aggregation ended: the decoded sum of the survivors' vectors, or why it failed.</summary>
[GenerateSerializer, Alias("regatta.SecAggRoundResult")]
public sealed record SecAggRoundResult(
    [property: Id(0)] string RunId,
    [property: Id(1)] int Round,
    [property: Id(2)] int Attempt,
    [property: Id(3)] float[]? Sum,
    [property: Id(4)] List<string> Survivors,
    [property: Id(5)] List<string> Dropped,
    [property: Id(6)] string? Failure);

/// <summary>One round attempt's secure aggregation. Key: <see cref="SecAggKeys.Round"/>. Reached by the cluster only (the gate refuses agents).</summary>
[Alias("regatta.ISecAggRoundGrain")]
public interface ISecAggRoundGrain : IGrainWithStringKey
{
    /// <summary>The run opens the round (idempotent).</summary>
    [Alias("Open")] Task Open(SecAggRoundConfig config);
    /// <summary>A member's message, from its own worker grain: <paramref name="workerId"/> is that grain's key.</summary>
    [Alias("Member")] Task<SecAggReply> Member(string workerId, SecAggRequest request);
    /// <summary>The run learned that a member's train job ended without it finishing: no phase waits for it any more.</summary>
    [Alias("Gone"), OneWay] Task Gone(string workerId);
}

public static class SecAggKeys
{
    public static string Round(string runId, int round, int attempt) => $"{runId}/{round}/{attempt}";
    /// <summary>The length of a member's vector for a model of <paramref name="parameters"/> values: weight × update, then the weight.</summary>
    public static int Length(long parameters) => checked((int)parameters + 1);
    /// <summary>The threshold a round of <paramref name="members"/> runs with.</summary>
    public static int Threshold(PrivacySpec privacy, int members) => privacy.SecAggThreshold > 0 ? privacy.SecAggThreshold : Math.Max(2, members / 2 + 1);
}
