using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Regatta.Grains.Security;

/// <summary>
/// The secret that the cluster's own calls carry (<see cref="Regatta.Security.CallIdentity.ClusterKey"/>), so that the
/// gate can tell them from a client's. Orleans cannot tell them apart by itself: a gateway forwards the source id a
/// client writes into its messages unchecked, so any client can claim to be a grain (see <see cref="AgentGate"/>).
/// Silos of one cluster must share it: <c>Regatta:ClusterKey</c>, else derived from the admin key (production mode
/// requires one), else (a single local silo, or test silos in one process) a random key of this process.
/// </summary>
public sealed class ClusterKey
{
    public const int MinLength = 32;
    private static readonly Lazy<ClusterKey> Process = new(() => new ClusterKey(Secrets.New()));

    private ClusterKey(string value) => Value = value;

    /// <summary>What internal calls carry in their request context.</summary>
    public string Value { get; }

    /// <summary>
    /// Constant-time for a presented key of the right length (only the length can leak, and every key of a cluster has
    /// the same). Compared as it is, not hashed: the gate asks this on every call a silo receives.
    /// </summary>
    public bool Matches(object? presented) => presented is string s &&
        CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(s.AsSpan()), MemoryMarshal.AsBytes(Value.AsSpan()));

    /// <summary>The key of this process, shared by every silo and trusted client it hosts.</summary>
    public static ClusterKey ProcessKey => Process.Value;

    public static ClusterKey From(string? configured, string? adminApiKey)
    {
        if (!string.IsNullOrWhiteSpace(configured))
            return configured.Trim().Length >= MinLength
                ? new ClusterKey(configured.Trim())
                : throw new InvalidOperationException($"Regatta:ClusterKey must be at least {MinLength} characters");
        return string.IsNullOrWhiteSpace(adminApiKey) ? ProcessKey : DerivedFrom(adminApiKey.Trim());
    }

    /// <summary>HKDF of the admin key: every silo configured with it derives the same key, and the key reveals nothing of it.</summary>
    public static ClusterKey DerivedFrom(string adminApiKey) => new(Convert.ToBase64String(HKDF.DeriveKey(HashAlgorithmName.SHA256,
        Encoding.UTF8.GetBytes(adminApiKey), 32, salt: [], info: "regatta cluster calls"u8.ToArray())));
}
