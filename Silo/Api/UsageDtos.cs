using System.Text.Json.Serialization;
using Regatta.Network;

namespace Regatta.Silo.Api;

public sealed record UserRegistrationRequest
{
    [JsonPropertyName("user_id")] public string? UserId { get; init; }
    /// <summary>Shown to operators; the user id when absent.</summary>
    [JsonPropertyName("display_name")] public string? DisplayName { get; init; }
}

public sealed record UserDto(
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("display_name")] string DisplayName,
    [property: JsonPropertyName("registered_at")] DateTimeOffset RegisteredAt,
    [property: JsonPropertyName("total_requests")] long TotalRequests,
    [property: JsonPropertyName("total_prompt_tokens")] long TotalPromptTokens,
    [property: JsonPropertyName("total_completion_tokens")] long TotalCompletionTokens,
    [property: JsonPropertyName("last_active")] DateTimeOffset? LastActive)
{
    public static UserDto Of(UserView u) => new(u.UserId, u.DisplayName, u.RegisteredAt, u.Requests, u.PromptTokens, u.CompletionTokens, u.LastActive);
}

/// <summary>
/// A registration: the user, and their API key when this reply issued one (shown once; only its hash is kept).
/// Send it as 'Authorization: Bearer ...' to log usage and generate.
/// </summary>
public sealed record UserRegistrationReply(
    [property: JsonIgnore] UserDto User,
    [property: JsonPropertyName("api_key")] string? ApiKey)
{
    [JsonPropertyName("user_id")] public string UserId => User.UserId;
    [JsonPropertyName("display_name")] public string DisplayName => User.DisplayName;
    [JsonPropertyName("registered_at")] public DateTimeOffset RegisteredAt => User.RegisteredAt;
    [JsonPropertyName("total_requests")] public long TotalRequests => User.TotalRequests;
    [JsonPropertyName("total_prompt_tokens")] public long TotalPromptTokens => User.TotalPromptTokens;
    [JsonPropertyName("total_completion_tokens")] public long TotalCompletionTokens => User.TotalCompletionTokens;
    [JsonPropertyName("last_active")] public DateTimeOffset? LastActive => User.LastActive;
}

/// <summary>The seed's UsageLog.</summary>
public sealed record UsageLogRequest
{
    [JsonPropertyName("user_id")] public string? UserId { get; init; }
    [JsonPropertyName("prompt_tokens")] public long? PromptTokens { get; init; }
    [JsonPropertyName("completion_tokens")] public long? CompletionTokens { get; init; }
    [JsonPropertyName("worker_ids")] public List<string>? WorkerIds { get; init; }
}

public sealed record UsageEntryDto(
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("prompt_tokens")] long PromptTokens,
    [property: JsonPropertyName("completion_tokens")] long CompletionTokens,
    [property: JsonPropertyName("worker_ids")] List<string> WorkerIds,
    [property: JsonPropertyName("timestamp")] DateTimeOffset Timestamp)
{
    public static UsageEntryDto Of(UsageEntry e) => new(e.UserId, e.PromptTokens, e.CompletionTokens, e.WorkerIds, e.At);
}
