using Regatta.Grains.Security;

namespace Regatta.Grains.Runs;

/// <summary>
/// A run's join token is a secret: the run keeps only its SHA-256 (hex), never the token, so it cannot leak through a
/// view, the run kit, an assignment or a backup of the store. A presented token is hashed and compared in constant time.
/// </summary>
public static class JoinTokens
{
    public static string Hash(string token) => Convert.ToHexStringLower(Secrets.Hash(token));

    /// <summary>True when <paramref name="presented"/> hashes to <paramref name="storedHash"/>; false when either is missing.</summary>
    public static bool Matches(string? storedHash, string? presented)
    {
        if (storedHash is null || presented is null || presented.Length > 1024) return false;
        return Secrets.Matches(presented, Convert.FromHexString(storedHash));
    }
}
