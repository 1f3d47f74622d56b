namespace Regatta.Learning.Privacy.SecureAggregation;

/// <summary>
/// What every participant of a secure-aggregation round agrees on before it starts: the threshold t (how many members
/// must stay to the end, and how many shares rebuild a secret), the update's length and the fixed-point encoding.
/// </summary>
public sealed record SecAggSettings(int Threshold, int Length, float Range, int MaxMembers)
{
    public FixedPoint Encoding { get; } = new(Range, MaxMembers);

    /// <summary>Why these settings cannot run a round, or null.</summary>
    public string? Check(int members)
    {
        if (members > MaxMembers) return $"{members} members, more than the encoding's {MaxMembers}";
        if (Threshold < 2) return "the threshold must be at least 2 (one member's masked input would be its update)";
        if (Threshold > members) return $"the threshold {Threshold} exceeds the {members} members";
        if (Length < 1) return "the update must have at least one value";
        return null;
    }
}

/// <summary>Phase 0, member → all (through the coordinator): its two fresh public keys.</summary>
/// <param name="CipherKey">P-256 key for the pairwise AES-GCM keys that carry shares.</param>
/// <param name="MaskKey">P-256 key for the pairwise mask seeds.</param>
public sealed record SecAggAdvertisement(int Member, byte[] CipherKey, byte[] MaskKey)
{
    public int WireBytes => 4 + CipherKey.Length + MaskKey.Length;
}

/// <summary>Phase 1, member → member (relayed by the coordinator, who cannot read it): the recipient's shares of the sender's secrets.</summary>
public sealed record SecAggEncryptedShare(int From, int To, byte[] Sealed)
{
    public int WireBytes => 8 + Sealed.Length;
}

/// <summary>Phase 2, member → coordinator: the update, fixed-point encoded, plus the self mask and the pairwise masks.</summary>
public sealed record SecAggMaskedInput(int Member, uint[] Masked)
{
    public int WireBytes => 4 + 4 * Masked.Length;
}

/// <summary>
/// Phase 3, member → coordinator: for each member of the share phase, the share the coordinator needs from this
/// member: of its self-mask seed if it sent a masked input, of its mask key if it dropped out. Never both.
/// </summary>
public sealed record SecAggUnmaskShares(int Member, IReadOnlyDictionary<int, byte[]> SeedShares, IReadOnlyDictionary<int, byte[]> KeyShares)
{
    public int WireBytes => 4 + SeedShares.Sum(s => 4 + s.Value.Length) + KeyShares.Sum(s => 4 + s.Value.Length);
}

/// <summary>A round's outcome: the sum of the survivors' updates (decoded), and who they are.</summary>
public sealed record SecAggSum(float[] Sum, IReadOnlyList<int> Survivors, IReadOnlyList<int> Dropped);
