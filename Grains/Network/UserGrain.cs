using System.Security.Cryptography;
using Regatta.Network;

namespace Regatta.Grains.Network;

[GenerateSerializer, Alias("regatta.UserState")]
public sealed class UserState
{
    [Id(0)] public UserView? User { get; set; }
    /// <summary>SHA-256 of the user's API key; null for a user registered without one.</summary>
    [Id(1)] public byte[]? KeyHash { get; set; }
}

/// <summary>One user of the inference network with their running totals.</summary>
public sealed class UserGrain(
    [PersistentState("user", StoreNames.Regatta)] IPersistentState<UserState> state,
    TimeProvider time) : Grain, IUserGrain
{
    public async Task<UserRegistrationResult> Register(string displayName, byte[]? keyHash = null)
    {
        if (state.State.User is { } existing) return new UserRegistrationResult(existing, Created: false);
        var userId = Ids.Require(this.GetPrimaryKeyString(), "user_id");
        if (string.IsNullOrWhiteSpace(displayName) || displayName.Length > 100)
            throw new RegattaException("bad_user", "display_name: must be 1 to 100 characters");
        if (keyHash is not null) CheckHash(keyHash);
        state.State.User = new UserView { UserId = userId, DisplayName = displayName, RegisteredAt = time.GetUtcNow() };
        state.State.KeyHash = keyHash;
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IUsageLogGrain>(0).UserAdded();
        return new UserRegistrationResult(state.State.User, Created: true);
    }

    public Task<UserView?> Get() => Task.FromResult(state.State.User);

    public async Task SetKey(byte[] keyHash)
    {
        if (state.State.User is null) throw new RegattaException("unknown_user", $"user '{this.GetPrimaryKeyString()}' is not registered");
        CheckHash(keyHash);
        state.State.KeyHash = keyHash;
        await state.WriteStateAsync();
    }

    public Task<bool> KeyMatches(byte[] keyHash) => Task.FromResult(
        state.State.KeyHash is { } stored && keyHash.Length == stored.Length && CryptographicOperations.FixedTimeEquals(stored, keyHash));

    private static void CheckHash(byte[] hash)
    {
        if (hash.Length != SHA256.HashSizeInBytes) throw new RegattaException("bad_key_hash", "key hash: must be a SHA-256 hash");
    }

    public async Task<UserView> RecordUsage(long promptTokens, long completionTokens, DateTimeOffset at)
    {
        var user = state.State.User ?? throw new RegattaException("unknown_user", $"user '{this.GetPrimaryKeyString()}' is not registered");
        if (promptTokens is < 0 or > UsageLimits.MaxTokensPerRequest || completionTokens is < 0 or > UsageLimits.MaxTokensPerRequest)
            throw new RegattaException("bad_usage", $"tokens: must be in [0, {UsageLimits.MaxTokensPerRequest}]");
        state.State.User = user with
        {
            Requests = user.Requests + 1,
            PromptTokens = user.PromptTokens + promptTokens,
            CompletionTokens = user.CompletionTokens + completionTokens,
            LastActive = at,
        };
        await state.WriteStateAsync();
        return state.State.User;
    }
}
