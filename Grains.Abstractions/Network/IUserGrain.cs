namespace Regatta.Network;

/// <summary>A user of the inference network and what they consumed. Key: user id.</summary>
[Alias("regatta.IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>
    /// Registers the user with the hash of their API key; registering again changes nothing (neither name nor key)
    /// and returns the stored user with Created = false.
    /// </summary>
    [Alias("Register")] Task<UserRegistrationResult> Register(string displayName, byte[]? keyHash = null);
    /// <summary>Replaces the user's API key (an operator re-issuing a lost key).</summary>
    [Alias("SetKey")] Task SetKey(byte[] keyHash);
    /// <summary>Whether <paramref name="keyHash"/> is the hash of this user's API key (constant time).</summary>
    [Alias("KeyMatches")] Task<bool> KeyMatches(byte[] keyHash);
    /// <summary>Null when the user is not registered.</summary>
    [Alias("Get")] Task<UserView?> Get();
    /// <summary>Adds one request's tokens; throws RegattaException("unknown_user") for an unregistered user.</summary>
    [Alias("RecordUsage")] Task<UserView> RecordUsage(long promptTokens, long completionTokens, DateTimeOffset at);
}

[GenerateSerializer, Alias("regatta.UserView")]
public sealed record UserView
{
    [Id(0)] public string UserId { get; init; } = "";
    [Id(1)] public string DisplayName { get; init; } = "";
    [Id(2)] public DateTimeOffset RegisteredAt { get; init; }
    [Id(3)] public long Requests { get; init; }
    [Id(4)] public long PromptTokens { get; init; }
    [Id(5)] public long CompletionTokens { get; init; }
    [Id(6)] public DateTimeOffset? LastActive { get; init; }
}

[GenerateSerializer, Alias("regatta.UserRegistrationResult")]
public sealed record UserRegistrationResult([property: Id(0)] UserView User, [property: Id(1)] bool Created);
