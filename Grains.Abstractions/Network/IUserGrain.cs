namespace Regatta.Network;

/// <summary>A user of the inference network and what they consumed. Key: user id.</summary>
[Alias("regatta.IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>Registers the user; registering again changes nothing and returns the stored user with Created = false.</summary>
    [Alias("Register")] Task<UserRegistrationResult> Register(string displayName);
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
