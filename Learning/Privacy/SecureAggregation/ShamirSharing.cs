using System.Numerics;
using System.Security.Cryptography;

namespace Regatta.Learning.Privacy.SecureAggregation;

/// <summary>
/// Shamir's t-of-n secret sharing over GF(2^127 − 1). A secret of any length is cut into 15-byte chunks (each below
/// the prime), every chunk shared with its own random polynomial of degree t − 1; a share is 16 bytes per chunk.
/// Any t shares give the secret back, fewer tell nothing about it.
/// </summary>
public static class ShamirSharing
{
    public static readonly BigInteger Prime = (BigInteger.One << 127) - 1;
    private const int ChunkBytes = 15, ElementBytes = 16;

    public static int ShareLength(int secretLength) => (secretLength + ChunkBytes - 1) / ChunkBytes * ElementBytes;

    /// <summary>One share per x in <paramref name="xs"/> (distinct, 1 ≤ x &lt; 2^31), any <paramref name="threshold"/> of which rebuild the secret.</summary>
    public static Dictionary<int, byte[]> Split(ReadOnlySpan<byte> secret, int threshold, IReadOnlyCollection<int> xs)
    {
        if (threshold < 1 || threshold > xs.Count) throw new ArgumentOutOfRangeException(nameof(threshold), $"threshold must be in [1, {xs.Count}]");
        if (xs.Any(x => x < 1) || xs.Distinct().Count() != xs.Count) throw new ArgumentException("share points must be distinct and ≥ 1", nameof(xs));
        var chunks = (secret.Length + ChunkBytes - 1) / ChunkBytes;
        var shares = xs.ToDictionary(x => x, _ => new byte[chunks * ElementBytes]);
        var coefficients = new BigInteger[threshold];
        for (var c = 0; c < chunks; c++)
        {
            var piece = secret.Slice(c * ChunkBytes, Math.Min(ChunkBytes, secret.Length - c * ChunkBytes));
            coefficients[0] = new BigInteger(piece, isUnsigned: true);
            for (var k = 1; k < threshold; k++) coefficients[k] = RandomElement();
            foreach (var x in xs)
            {
                var y = BigInteger.Zero; // Horner
                for (var k = threshold - 1; k >= 0; k--) y = (y * x + coefficients[k]) % Prime;
                y.TryWriteBytes(shares[x].AsSpan(c * ElementBytes, ElementBytes), out _, isUnsigned: true);
            }
        }
        return shares;
    }

    /// <summary>The secret from at least as many shares as the threshold it was split with (Lagrange interpolation at 0).</summary>
    public static byte[] Combine(IReadOnlyList<(int X, byte[] Share)> shares, int secretLength)
    {
        if (shares.Count == 0) throw new ArgumentException("no shares", nameof(shares));
        var length = ShareLength(secretLength);
        if (shares.Any(s => s.Share.Length != length)) throw new ArgumentException($"a share of a {secretLength}-byte secret has {length} bytes", nameof(shares));
        if (shares.Select(s => s.X).Distinct().Count() != shares.Count) throw new ArgumentException("share points must be distinct", nameof(shares));
        // λ_j = Π_{m≠j} x_m / (x_m − x_j): the same for every chunk.
        var lambdas = new BigInteger[shares.Count];
        for (var j = 0; j < shares.Count; j++)
        {
            BigInteger num = 1, den = 1;
            for (var m = 0; m < shares.Count; m++)
            {
                if (m == j) continue;
                num = num * shares[m].X % Prime;
                den = den * Mod(shares[m].X - shares[j].X) % Prime;
            }
            lambdas[j] = num * BigInteger.ModPow(den, Prime - 2, Prime) % Prime;
        }
        var secret = new byte[secretLength];
        for (var c = 0; c * ChunkBytes < secretLength; c++)
        {
            var value = BigInteger.Zero;
            for (var j = 0; j < shares.Count; j++)
                value = (value + lambdas[j] * new BigInteger(shares[j].Share.AsSpan(c * ElementBytes, ElementBytes), isUnsigned: true)) % Prime;
            var size = Math.Min(ChunkBytes, secretLength - c * ChunkBytes);
            if (value.GetByteCount(isUnsigned: true) > size) throw new CryptographicException("shares do not belong to one secret");
            value.TryWriteBytes(secret.AsSpan(c * ChunkBytes, size), out _, isUnsigned: true);
        }
        return secret;
    }

    private static BigInteger Mod(BigInteger v) => (v % Prime + Prime) % Prime;

    /// <summary>A uniform field element: 127 random bits, redrawn in the one case (2^127 − 1) that is not below the prime.</summary>
    private static BigInteger RandomElement()
    {
        Span<byte> bytes = stackalloc byte[ElementBytes];
        while (true)
        {
            RandomNumberGenerator.Fill(bytes);
            bytes[^1] &= 0x7F;
            var v = new BigInteger(bytes, isUnsigned: true);
            if (v < Prime) return v;
        }
    }
}
