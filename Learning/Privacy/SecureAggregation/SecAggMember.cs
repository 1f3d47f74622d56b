using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Regatta.Learning.Privacy.SecureAggregation;

/// <summary>
/// One member's side of a secure-aggregation round (Bonawitz et al., CCS 2017, the semi-honest protocol): advertise
/// keys, share secrets, send the masked input, answer the unmasking. Each call checks what the coordinator relayed
/// and throws <see cref="SecAggException"/> rather than reveal more than the protocol allows.
/// </summary>
public sealed class SecAggMember : IDisposable
{
    private readonly SecAggSettings _settings;
    private readonly ECDiffieHellman _cipherKey = SecAggCrypto.NewKey();
    private readonly ECDiffieHellman _maskKey = SecAggCrypto.NewKey();
    private readonly byte[] _seed = RandomNumberGenerator.GetBytes(SecAggCrypto.SeedBytes);
    private Dictionary<int, SecAggAdvertisement>? _roster;
    private HashSet<int>? _sharers;
    // The shares this member holds of every sharer's seed and mask key (its own included).
    private readonly Dictionary<int, (byte[] Seed, byte[] Key)> _held = new();
    private bool _unmasked;

    public SecAggMember(int index, SecAggSettings settings)
    {
        if (index < 1) throw new ArgumentOutOfRangeException(nameof(index), "member indices start at 1");
        Index = index;
        _settings = settings;
    }

    public int Index { get; }

    public SecAggAdvertisement Advertise() => new(Index, SecAggCrypto.PublicKey(_cipherKey), SecAggCrypto.PublicKey(_maskKey));

    /// <summary>Phase 1: shares of the self-mask seed and of the mask key's scalar for every advertised member, each sealed for it.</summary>
    public List<SecAggEncryptedShare> ShareKeys(IReadOnlyList<SecAggAdvertisement> roster)
    {
        if (_roster is not null) throw new SecAggException("keys were already shared this round");
        var byMember = new Dictionary<int, SecAggAdvertisement>();
        foreach (var a in roster)
            if (!byMember.TryAdd(a.Member, a)) throw new SecAggException($"member {a.Member} is advertised twice");
        if (byMember.Count < _settings.Threshold) throw new SecAggException($"{byMember.Count} members advertised keys, fewer than the threshold {_settings.Threshold}");
        if (!byMember.TryGetValue(Index, out var mine) || !mine.MaskKey.AsSpan().SequenceEqual(SecAggCrypto.PublicKey(_maskKey))
            || !mine.CipherKey.AsSpan().SequenceEqual(SecAggCrypto.PublicKey(_cipherKey)))
            throw new SecAggException("the roster does not carry this member's own keys");
        if (roster.Select(a => Convert.ToHexString(a.MaskKey)).Distinct().Count() != roster.Count)
            throw new SecAggException("two members advertised the same key");
        _roster = byMember;
        var scalar = SecAggCrypto.PrivateScalar(_maskKey);
        var seedShares = ShamirSharing.Split(_seed, _settings.Threshold, byMember.Keys);
        var keyShares = ShamirSharing.Split(scalar, _settings.Threshold, byMember.Keys);
        CryptographicOperations.ZeroMemory(scalar);
        _held[Index] = (seedShares[Index], keyShares[Index]);
        var sealedShares = new List<SecAggEncryptedShare>();
        foreach (var (v, a) in byMember)
        {
            if (v == Index) continue;
            var key = SecAggCrypto.Agree(_cipherKey, a.CipherKey, "share");
            var plain = new byte[seedShares[v].Length + keyShares[v].Length];
            seedShares[v].CopyTo(plain, 0);
            keyShares[v].CopyTo(plain, seedShares[v].Length);
            sealedShares.Add(new SecAggEncryptedShare(Index, v, SecAggCrypto.Seal(key, plain, Route(Index, v))));
        }
        return sealedShares;
    }

    /// <summary>
    /// Phase 2: opens the shares sealed for this member (their senders are the members whose masks are in play) and
    /// returns the update, encoded, plus its self mask, plus a pairwise mask per sender: added towards a higher index,
    /// subtracted towards a lower one, so that the pairs cancel in the sum.
    /// </summary>
    public SecAggMaskedInput MaskedInput(ReadOnlySpan<float> update, IReadOnlyList<SecAggEncryptedShare> received)
    {
        var roster = _roster ?? throw new SecAggException("keys were not shared yet");
        if (_sharers is not null) throw new SecAggException("the masked input was already sent this round");
        if (update.Length != _settings.Length) throw new SecAggException($"the update has {update.Length} values, the round {_settings.Length}");
        var sharers = new HashSet<int> { Index };
        var seedLength = ShamirSharing.ShareLength(SecAggCrypto.SeedBytes);
        foreach (var s in received)
        {
            if (s.To != Index || !roster.TryGetValue(s.From, out var sender) || s.From == Index || !sharers.Add(s.From))
                throw new SecAggException($"a share from {s.From} to {s.To} is not one this member expects");
            byte[] plain;
            try
            {
                plain = SecAggCrypto.Open(SecAggCrypto.Agree(_cipherKey, sender.CipherKey, "share"), s.Sealed, Route(s.From, Index));
            }
            catch (CryptographicException e)
            {
                throw new SecAggException($"the share from member {s.From} does not open: {e.Message}");
            }
            if (plain.Length != 2 * seedLength) throw new SecAggException($"the share from member {s.From} has the wrong length");
            _held[s.From] = (plain[..seedLength], plain[seedLength..]);
        }
        if (sharers.Count < _settings.Threshold) throw new SecAggException($"{sharers.Count} members shared keys, fewer than the threshold {_settings.Threshold}");
        _sharers = sharers;
        var masked = _settings.Encoding.Encode(update);
        SecAggCrypto.AddMask(masked, _seed);
        foreach (var v in sharers)
        {
            if (v == Index) continue;
            var seed = SecAggCrypto.Agree(_maskKey, roster[v].MaskKey, "mask");
            SecAggCrypto.AddMask(masked, seed, subtract: Index > v);
        }
        return new SecAggMaskedInput(Index, masked);
    }

    /// <summary>
    /// Phase 3: given who sent a masked input, the seed share of each of them and the mask-key share of each sharer
    /// who did not. Refuses a survivor list that would expose a survivor's pairwise masks (one not drawn from the
    /// sharers, or below the threshold), and answers once only.
    /// </summary>
    public SecAggUnmaskShares Unmask(IReadOnlyCollection<int> survivors)
    {
        var sharers = _sharers ?? throw new SecAggException("no masked input was sent");
        if (_unmasked) throw new SecAggException("this member already answered the unmasking");
        var set = survivors.ToHashSet();
        if (set.Count != survivors.Count || !set.IsSubsetOf(sharers) || !set.Contains(Index))
            throw new SecAggException("the survivors must be distinct members that shared keys, this one among them");
        if (set.Count < _settings.Threshold) throw new SecAggException($"{set.Count} survivors, fewer than the threshold {_settings.Threshold}");
        _unmasked = true;
        var seeds = new Dictionary<int, byte[]>();
        var keys = new Dictionary<int, byte[]>();
        foreach (var u in sharers)
            if (set.Contains(u)) seeds[u] = _held[u].Seed;
            else keys[u] = _held[u].Key;
        return new SecAggUnmaskShares(Index, seeds, keys);
    }

    /// <summary>Associated data binding a sealed share to its sender and recipient, so the coordinator cannot re-address it.</summary>
    private static byte[] Route(int from, int to)
    {
        var route = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(route, from);
        BinaryPrimitives.WriteInt32LittleEndian(route.AsSpan(4), to);
        return route;
    }

    public void Dispose()
    {
        _cipherKey.Dispose();
        _maskKey.Dispose();
        CryptographicOperations.ZeroMemory(_seed);
    }
}

/// <summary>A protocol message that breaks the protocol's rules: the round cannot go on with it.</summary>
public sealed class SecAggException(string message) : Exception(message);
