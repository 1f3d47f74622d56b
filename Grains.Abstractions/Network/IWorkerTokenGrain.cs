namespace Regatta.Network;

/// <summary>
/// The SHA-256 hash of the secret a worker got when it registered over HTTP; the secret itself is never stored.
/// Key: worker id. Kept apart from the worker grain so the Orleans-client protocol is unchanged.
/// </summary>
[Alias("regatta.IWorkerTokenGrain")]
public interface IWorkerTokenGrain : IGrainWithStringKey
{
    /// <summary>Stores the hash when the worker has none yet; false when it already has one.</summary>
    [Alias("Claim")] Task<bool> Claim(byte[] hash);
    /// <summary>Replaces the hash when <paramref name="presented"/> matches the stored one; false otherwise.</summary>
    [Alias("Rotate")] Task<bool> Rotate(byte[] presented, byte[] hash);
    /// <summary>Replaces the hash whatever it was (an operator re-issuing a lost token).</summary>
    [Alias("Reset")] Task Reset(byte[] hash);
    [Alias("Matches")] Task<bool> Matches(byte[] hash);
}
