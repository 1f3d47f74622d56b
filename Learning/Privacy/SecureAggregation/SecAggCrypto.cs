using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Regatta.Learning.Privacy.SecureAggregation;

/// <summary>
/// The primitives of the masking protocol: P-256 ECDH with HKDF-SHA256 key derivation, AES-256-GCM for the shares a
/// member relays to another through the coordinator, and the PRG that expands a 32-byte seed into a mask over Z_{2^32}.
/// </summary>
public static class SecAggCrypto
{
    public const int SeedBytes = 32;
    private const int NonceBytes = 12, TagBytes = 16;
    private static readonly Oid P256 = ECCurve.NamedCurves.nistP256.Oid;

    /// <summary>A fresh P-256 key pair; keys live for one round, so a mask seed is never reused.</summary>
    public static ECDiffieHellman NewKey() => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The public half as SubjectPublicKeyInfo, what a member advertises.</summary>
    public static byte[] PublicKey(ECDiffieHellman key) => key.ExportSubjectPublicKeyInfo();

    /// <summary>Reads an advertised public key; refuses anything but an uncompressed P-256 point.</summary>
    public static ECDiffieHellman ImportPublic(byte[] spki)
    {
        if (spki.Length is 0 or > 256) throw new CryptographicException("public key: not a P-256 SubjectPublicKeyInfo");
        var key = ECDiffieHellman.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out var read);
            if (read == spki.Length && key.ExportParameters(false).Curve.Oid.Value == P256.Value) return key;
        }
        catch (CryptographicException)
        {
            // reported below, in one wording whatever the parser said
        }
        key.Dispose();
        throw new CryptographicException("public key: not a P-256 SubjectPublicKeyInfo");
    }

    /// <summary>
    /// The 32-byte key two members share: HKDF-SHA256 over the raw ECDH x-coordinate, with the purpose ("mask" or
    /// "share") as info so the pairwise mask seed and the share-encryption key never coincide.
    /// </summary>
    public static byte[] Agree(ECDiffieHellman mine, byte[] theirPublic, string purpose)
    {
        using var theirs = ImportPublic(theirPublic);
        var raw = mine.DeriveRawSecretAgreement(theirs.PublicKey);
        try
        {
            return HKDF.DeriveKey(HashAlgorithmName.SHA256, raw, SeedBytes, info: Encoding.ASCII.GetBytes("regatta-secagg " + purpose));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }

    /// <summary>The private scalar d of a P-256 key (32 bytes): what is secret-shared for dropout recovery.</summary>
    public static byte[] PrivateScalar(ECDiffieHellman key) => key.ExportParameters(true).D!;

    /// <summary>Rebuilds a member's key from its reconstructed scalar and the public point it advertised.</summary>
    public static ECDiffieHellman FromScalar(byte[] d, byte[] advertisedPublic)
    {
        using var pub = ImportPublic(advertisedPublic);
        var parameters = pub.ExportParameters(false);
        parameters.D = d;
        var key = ECDiffieHellman.Create();
        key.ImportParameters(parameters); // checks that d·G is the advertised point
        return key;
    }

    /// <summary>AES-256-GCM with a random nonce; the associated data binds the ciphertext to its sender and recipient.</summary>
    public static byte[] Seal(byte[] key, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associated)
    {
        var output = new byte[NonceBytes + TagBytes + plaintext.Length];
        var nonce = output.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(key, TagBytes);
        gcm.Encrypt(nonce, plaintext, output.AsSpan(NonceBytes + TagBytes), output.AsSpan(NonceBytes, TagBytes), associated);
        return output;
    }

    /// <summary>Opens a <see cref="Seal"/>ed message; throws <see cref="AuthenticationTagMismatchException"/> if it was altered.</summary>
    public static byte[] Open(byte[] key, ReadOnlySpan<byte> sealedMessage, ReadOnlySpan<byte> associated)
    {
        if (sealedMessage.Length < NonceBytes + TagBytes) throw new CryptographicException("sealed share: too short");
        var plaintext = new byte[sealedMessage.Length - NonceBytes - TagBytes];
        using var gcm = new AesGcm(key, TagBytes);
        gcm.Decrypt(sealedMessage[..NonceBytes], sealedMessage[(NonceBytes + TagBytes)..], sealedMessage.Slice(NonceBytes, TagBytes), plaintext, associated);
        return plaintext;
    }

    /// <summary>
    /// The PRG: AES-256 in counter mode keyed by the seed (zero IV; a seed is used for one mask only), its keystream
    /// read as little-endian uint32 words and added to (or subtracted from) <paramref name="target"/> modulo 2^32.
    /// </summary>
    public static void AddMask(Span<uint> target, ReadOnlySpan<byte> seed, bool subtract = false)
    {
        if (seed.Length != SeedBytes) throw new ArgumentException($"a mask seed has {SeedBytes} bytes", nameof(seed));
        using var aes = Aes.Create();
        aes.Key = seed.ToArray();
        const int ChunkWords = 1 << 14; // 64 KB of keystream per call bounds the transient buffers
        var counter = new byte[ChunkWords * 4];
        var stream = new byte[ChunkWords * 4];
        ulong block = 0;
        for (var start = 0; start < target.Length; start += ChunkWords)
        {
            var words = Math.Min(ChunkWords, target.Length - start);
            var bytes = (words * 4 + 15) / 16 * 16;
            for (var b = 0; b < bytes; b += 16, block++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(counter.AsSpan(b), block);
                BinaryPrimitives.WriteUInt64LittleEndian(counter.AsSpan(b + 8), 0);
            }
            aes.EncryptEcb(counter.AsSpan(0, bytes), stream.AsSpan(0, bytes), PaddingMode.None);
            var slice = target.Slice(start, words);
            for (var i = 0; i < words; i++)
            {
                var w = BinaryPrimitives.ReadUInt32LittleEndian(stream.AsSpan(i * 4));
                slice[i] = subtract ? unchecked(slice[i] - w) : unchecked(slice[i] + w);
            }
        }
    }
}
