using System.Collections.Concurrent;
using Regatta.Network;

namespace Regatta.Grains.Security;

/// <summary>
/// Checks a worker's credential against the hash its <see cref="IWorkerTokenGrain"/> keeps (the same credential the REST
/// worker protocol uses). A match is remembered on this silo for <see cref="Remembered"/>, so a heartbeat costs a hash
/// and a constant-time compare rather than another grain call; a reset credential stops working within that time.
/// </summary>
public sealed class WorkerCredentials(IGrainFactory grains, TimeProvider time)
{
    public static readonly TimeSpan Remembered = TimeSpan.FromSeconds(30);
    private const int MaxRemembered = 100_000;
    private readonly ConcurrentDictionary<string, (byte[] Hash, long Until)> _verified = new(StringComparer.Ordinal);

    public async ValueTask<bool> VerifyAsync(string workerId, string credential)
    {
        if (credential.Length is 0 or > 200 || !Ids.IsValid(workerId)) return false;
        var hash = Secrets.Hash(credential);
        var now = time.GetTimestamp();
        if (_verified.TryGetValue(workerId, out var known) && now < known.Until &&
            System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(known.Hash, hash))
            return true;
        if (!await grains.GetGrain<IWorkerTokenGrain>(workerId).Matches(hash)) return false;
        if (_verified.Count >= MaxRemembered) _verified.Clear();
        _verified[workerId] = (hash, now + (long)(Remembered.TotalSeconds * time.TimestampFrequency));
        return true;
    }

    /// <summary>Forgets what this silo remembered of a worker (its credential was reset here).</summary>
    public void Forget(string workerId) => _verified.TryRemove(workerId, out _);
}
