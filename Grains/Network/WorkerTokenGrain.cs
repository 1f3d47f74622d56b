using System.Security.Cryptography;
using Regatta.Network;

namespace Regatta.Grains.Network;

[GenerateSerializer, Alias("regatta.WorkerTokenState")]
public sealed class WorkerTokenState
{
    [Id(0)] public byte[]? Hash { get; set; }
}

/// <summary>Holds a worker's token hash; comparisons take constant time so a caller learns nothing from timing.</summary>
public sealed class WorkerTokenGrain(
    [PersistentState("workerToken", StoreNames.Regatta)] IPersistentState<WorkerTokenState> state) : Grain, IWorkerTokenGrain
{
    private const int HashLength = 32;

    public async Task<bool> Claim(byte[] hash)
    {
        CheckLength(hash);
        if (state.State.Hash is not null) return false;
        state.State.Hash = hash;
        await state.WriteStateAsync();
        return true;
    }

    public async Task<bool> Rotate(byte[] presented, byte[] hash)
    {
        CheckLength(hash);
        if (!Same(presented)) return false;
        state.State.Hash = hash;
        await state.WriteStateAsync();
        return true;
    }

    public async Task Reset(byte[] hash)
    {
        CheckLength(hash);
        state.State.Hash = hash;
        await state.WriteStateAsync();
    }

    public Task<bool> Matches(byte[] hash) => Task.FromResult(Same(hash));

    private bool Same(byte[] hash) =>
        state.State.Hash is { } stored && hash.Length == HashLength && CryptographicOperations.FixedTimeEquals(stored, hash);

    private static void CheckLength(byte[] hash)
    {
        if (hash.Length != HashLength) throw new RegattaException("bad_token_hash", "token hash: must be a SHA-256 hash");
    }
}
