namespace Regatta.Network;

/// <summary>
/// A worker agent's serving endpoint: an Orleans observer the agent registers with its worker grain, which forwards
/// hops of inference requests to it. Runs blocks [From, To) of the served model on what it is given.
/// </summary>
[Alias("regatta.IBlockServer")]
public interface IBlockServer : IGrainObserver
{
    [Alias("Forward")] Task<ForwardResult> Forward(ForwardRequest request);
}

/// <summary>One hop: token ids when From is 0, otherwise hidden states [Time, Width] from the previous hop.</summary>
[GenerateSerializer, Immutable, Alias("regatta.ForwardRequest")]
public sealed record ForwardRequest
{
    [Id(0)] public string RequestId { get; init; } = "";
    [Id(1)] public string ModelVersion { get; init; } = "";
    [Id(2)] public int From { get; init; }
    [Id(3)] public int To { get; init; }
    [Id(4)] public int[]? Tokens { get; init; }
    [Id(5)] public float[]? Hidden { get; init; }
    [Id(6)] public int Time { get; init; }
    /// <summary>Tokens this step adds to the sequence: what the worker counts as served.</summary>
    [Id(7)] public int NewTokens { get; init; }
    /// <summary>The session whose key/value cache the hop keeps; null runs the whole sequence without a cache.</summary>
    [Id(8)] public string? SessionId { get; init; }
    /// <summary>The position of the first of the Time positions given (earlier ones are in the session's cache).</summary>
    [Id(9)] public int Position { get; init; }
    /// <summary>The most positions the session will hold (prompt + new tokens): what the hop reserves cache memory for.</summary>
    [Id(10)] public int SessionLength { get; init; }
    /// <summary>The request's last step: the hop drops the session's cache after it.</summary>
    [Id(11)] public bool EndSession { get; init; }
}

/// <summary>Hidden states [Time, Width] for the next hop, or, from the hop that ran the last block, the next-token logits.</summary>
[GenerateSerializer, Alias("regatta.ForwardResult")]
public sealed record ForwardResult
{
    [Id(0)] public float[]? Hidden { get; init; }
    [Id(1)] public float[]? Logits { get; init; }
    [Id(2)] public string WorkerId { get; init; } = "";
}
