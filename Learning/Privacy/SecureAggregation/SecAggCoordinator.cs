using System.Security.Cryptography;

namespace Regatta.Learning.Privacy.SecureAggregation;

public enum SecAggPhase { AdvertiseKeys, ShareKeys, MaskedInput, Unmasking, Done, Failed }

/// <summary>
/// The coordinator's side of a secure-aggregation round: collects each phase's messages, closes a phase when every
/// member answered or its deadline passed (the caller decides when), relays what the next phase needs, and at the end
/// removes the masks from the sum of the masked inputs. It holds masked inputs, sealed shares it cannot open and the
/// running sum, never one member's update. A phase closing with fewer than t members fails the round
/// (<see cref="Failure"/>); the caller retries it as any failed round.
/// </summary>
public sealed class SecAggCoordinator
{
    private readonly SecAggSettings _settings;
    private readonly HashSet<int> _members;
    private readonly Dictionary<int, SecAggAdvertisement> _advertised = new();
    private readonly Dictionary<int, List<SecAggEncryptedShare>> _sharesFrom = new();
    private readonly HashSet<int> _sharers = new();
    private readonly HashSet<int> _inputs = new();
    private uint[]? _sum;
    private readonly Dictionary<int, SecAggUnmaskShares> _unmasking = new();

    public SecAggCoordinator(SecAggSettings settings, IReadOnlyCollection<int> members)
    {
        if (settings.Check(members.Count) is { } problem) throw new ArgumentException(problem, nameof(settings));
        _settings = settings;
        _members = members.ToHashSet();
    }

    public SecAggPhase Phase { get; private set; } = SecAggPhase.AdvertiseKeys;
    public string? Failure { get; private set; }
    /// <summary>Who the current phase still waits for.</summary>
    public IEnumerable<int> Pending => Expected().Except(Phase switch
    {
        SecAggPhase.AdvertiseKeys => _advertised.Keys,
        SecAggPhase.ShareKeys => _sharers,
        SecAggPhase.MaskedInput => _inputs,
        SecAggPhase.Unmasking => _unmasking.Keys,
        _ => Expected(),
    });

    /// <summary>A member's keys; null when accepted, else why not.</summary>
    public string? Receive(SecAggAdvertisement a)
    {
        if (Refuse(SecAggPhase.AdvertiseKeys, a.Member) is { } refusal) return refusal;
        try
        {
            SecAggCrypto.ImportPublic(a.CipherKey).Dispose();
            SecAggCrypto.ImportPublic(a.MaskKey).Dispose();
        }
        catch (CryptographicException e)
        {
            return $"member {a.Member}: {e.Message}";
        }
        return _advertised.TryAdd(a.Member, a) ? null : $"member {a.Member} already advertised its keys";
    }

    /// <summary>Ends phase 0: the roster every advertiser gets, or null when fewer than t advertised (the round failed).</summary>
    public IReadOnlyList<SecAggAdvertisement>? CloseAdvertising()
    {
        if (!Close(SecAggPhase.AdvertiseKeys, _advertised.Count, "advertised keys")) return null;
        return _advertised.Values.OrderBy(a => a.Member).ToList();
    }

    /// <summary>A member's sealed shares, one for every other advertiser; null when accepted, else why not.</summary>
    public string? Receive(int from, IReadOnlyList<SecAggEncryptedShare> shares)
    {
        if (Refuse(SecAggPhase.ShareKeys, from) is { } refusal) return refusal;
        if (!_advertised.ContainsKey(from)) return $"member {from} did not advertise keys";
        var to = shares.Select(s => s.To).ToHashSet();
        if (shares.Any(s => s.From != from) || to.Count != shares.Count || !to.SetEquals(_advertised.Keys.Where(k => k != from)))
            return $"member {from} must send exactly one share from itself to every other advertised member";
        if (!_sharers.Add(from)) return $"member {from} already shared its keys";
        _sharesFrom[from] = shares.ToList();
        return null;
    }

    /// <summary>Ends phase 1: for each sharer, the shares sealed for it by the other sharers; null when fewer than t shared.</summary>
    public IReadOnlyDictionary<int, List<SecAggEncryptedShare>>? CloseSharing()
    {
        if (!Close(SecAggPhase.ShareKeys, _sharers.Count, "shared keys")) return null;
        return _sharers.ToDictionary(v => v, v => _sharers.Where(u => u != v).Select(u => _sharesFrom[u].Single(s => s.To == v)).ToList());
    }

    /// <summary>A member's masked input, added to the running sum at once; null when accepted, else why not.</summary>
    public string? Receive(SecAggMaskedInput input)
    {
        if (Refuse(SecAggPhase.MaskedInput, input.Member) is { } refusal) return refusal;
        if (!_sharers.Contains(input.Member)) return $"member {input.Member} did not share its keys";
        if (input.Masked.Length != _settings.Length) return $"member {input.Member}: the masked input has {input.Masked.Length} values, the round {_settings.Length}";
        if (!_inputs.Add(input.Member)) return $"member {input.Member} already sent its masked input";
        _sum ??= new uint[_settings.Length];
        var sum = _sum;
        for (var i = 0; i < sum.Length; i++) sum[i] = unchecked(sum[i] + input.Masked[i]);
        return null;
    }

    /// <summary>Ends phase 2: the survivors every one of them is told, or null when fewer than t sent a masked input.</summary>
    public IReadOnlyList<int>? CloseInput()
    {
        if (!Close(SecAggPhase.MaskedInput, _inputs.Count, "sent a masked input")) return null;
        _sharesFrom.Clear(); // relayed; the sealed shares are of no further use to anyone here
        return _inputs.Order().ToList();
    }

    /// <summary>A survivor's unmasking shares: a seed share per survivor and a key share per dropout, no more; null when accepted.</summary>
    public string? Receive(SecAggUnmaskShares shares)
    {
        if (Refuse(SecAggPhase.Unmasking, shares.Member) is { } refusal) return refusal;
        if (!_inputs.Contains(shares.Member)) return $"member {shares.Member} sent no masked input";
        if (!shares.SeedShares.Keys.ToHashSet().SetEquals(_inputs) || !shares.KeyShares.Keys.ToHashSet().SetEquals(_sharers.Except(_inputs)))
            return $"member {shares.Member} must send a seed share of every survivor and a key share of every dropout";
        return _unmasking.TryAdd(shares.Member, shares) ? null : $"member {shares.Member} already answered the unmasking";
    }

    /// <summary>
    /// Ends phase 3: rebuilds every survivor's self-mask seed and every dropout's mask key from t shares each, takes the
    /// self masks off the sum and the dropouts' pairwise masks that survivors added; null when fewer than t answered.
    /// </summary>
    public SecAggSum? CloseUnmasking()
    {
        if (!Close(SecAggPhase.Unmasking, _unmasking.Count, "answered the unmasking")) return null;
        var sum = _sum!;
        var helpers = _unmasking.Values.OrderBy(s => s.Member).Take(_settings.Threshold).ToList();
        var survivors = _inputs.Order().ToList();
        var dropped = _sharers.Except(_inputs).Order().ToList();
        try
        {
            foreach (var u in survivors)
            {
                var seed = ShamirSharing.Combine(helpers.Select(h => (h.Member, h.SeedShares[u])).ToList(), SecAggCrypto.SeedBytes);
                SecAggCrypto.AddMask(sum, seed, subtract: true);
            }
            foreach (var d in dropped)
            {
                var scalar = ShamirSharing.Combine(helpers.Select(h => (h.Member, h.KeyShares[d])).ToList(), SecAggCrypto.SeedBytes);
                using var key = SecAggCrypto.FromScalar(scalar, _advertised[d].MaskKey);
                CryptographicOperations.ZeroMemory(scalar);
                foreach (var v in survivors)
                {
                    // v added +PRG(s_vd) if v < d and −PRG(s_vd) if v > d; undo it.
                    var seed = SecAggCrypto.Agree(key, _advertised[v].MaskKey, "mask");
                    SecAggCrypto.AddMask(sum, seed, subtract: v < d);
                }
            }
        }
        catch (CryptographicException e)
        {
            return Fail($"secure aggregation: the shares did not rebuild the masks ({e.Message})");
        }
        Phase = SecAggPhase.Done;
        return new SecAggSum(_settings.Encoding.DecodeSum(sum, survivors.Count), survivors, dropped);
    }

    /// <summary>Everything the coordinator holds right now, as bytes: what a check for leaked updates reads.</summary>
    public IEnumerable<byte[]> Held()
    {
        foreach (var a in _advertised.Values) { yield return a.CipherKey; yield return a.MaskKey; }
        foreach (var s in _sharesFrom.Values.SelectMany(l => l)) yield return s.Sealed;
        if (_sum is { } sum) yield return System.Runtime.InteropServices.MemoryMarshal.AsBytes(sum.AsSpan()).ToArray();
        foreach (var u in _unmasking.Values)
        foreach (var share in u.SeedShares.Values.Concat(u.KeyShares.Values))
            yield return share;
    }

    private IEnumerable<int> Expected() => Phase switch
    {
        SecAggPhase.AdvertiseKeys => _members,
        SecAggPhase.ShareKeys => _advertised.Keys,
        SecAggPhase.MaskedInput => _sharers,
        SecAggPhase.Unmasking => _inputs,
        _ => [],
    };

    private string? Refuse(SecAggPhase phase, int member)
    {
        if (Phase != phase) return $"the round is in phase {Phase}, not {phase}";
        return _members.Contains(member) ? null : $"member {member} is not in this round";
    }

    private bool Close(SecAggPhase phase, int count, string what)
    {
        if (Phase != phase) throw new InvalidOperationException($"the round is in phase {Phase}, not {phase}");
        if (count < _settings.Threshold)
        {
            Fail($"secure aggregation: {count} of {_members.Count} members {what}, fewer than the threshold {_settings.Threshold}");
            return false;
        }
        Phase = phase + 1;
        return true;
    }

    private SecAggSum? Fail(string reason)
    {
        Phase = SecAggPhase.Failed;
        Failure = reason;
        _sum = null; // a failed round's masked sum is of no use; drop it rather than keep it around
        return null;
    }
}
