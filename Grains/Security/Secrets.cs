using System.Security.Cryptography;
using System.Text;

namespace Regatta.Grains.Security;

/// <summary>How Regatta makes and keeps secrets: 256 random bits, URL-safe; only their SHA-256 is stored.</summary>
public static class Secrets
{
    public static string New() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>Constant-time comparison of a presented secret with a stored hash.</summary>
    public static bool Matches(string? presented, byte[]? storedHash) =>
        presented is not null && storedHash is { Length: 32 } && CryptographicOperations.FixedTimeEquals(Hash(presented), storedHash);
}
