namespace Regatta.Learning.Privacy.SecureAggregation;

/// <summary>
/// Runs one secure-aggregation round in-process: the members and the coordinator exchange the protocol's messages in
/// order, and a member listed in <c>dropBefore</c> stops answering from that phase on. What the protocol tests and the
/// benchmark drive; a grain flow carries the same messages between machines.
/// </summary>
public static class SecAggSimulation
{
    /// <summary>The round's outcome (null sum: failed, with the coordinator's reason) and the bytes each member sent.</summary>
    public sealed record Outcome(SecAggSum? Sum, SecAggCoordinator Coordinator, IReadOnlyDictionary<int, long> BytesSent);

    /// <param name="updates">Member index (from 1) → its update.</param>
    /// <param name="dropBefore">Member index → the first phase it does not answer.</param>
    /// <param name="observe">Called after each phase closes, with the coordinator (e.g. to read what it holds).</param>
    public static Outcome Run(SecAggSettings settings, IReadOnlyDictionary<int, float[]> updates,
        IReadOnlyDictionary<int, SecAggPhase>? dropBefore = null, Action<SecAggCoordinator>? observe = null)
    {
        dropBefore ??= new Dictionary<int, SecAggPhase>();
        bool Answers(int m, SecAggPhase phase) => !dropBefore.TryGetValue(m, out var p) || p > phase;
        var coordinator = new SecAggCoordinator(settings, updates.Keys.ToList());
        var members = updates.Keys.ToDictionary(m => m, m => new SecAggMember(m, settings));
        var sent = updates.Keys.ToDictionary(m => m, _ => 0L);
        try
        {
            void Accept(string? refusal)
            {
                if (refusal is not null) throw new SecAggException(refusal);
            }
            Outcome Failed() => new(null, coordinator, sent);

            foreach (var (m, member) in members.Where(p => Answers(p.Key, SecAggPhase.AdvertiseKeys)))
            {
                var a = member.Advertise();
                sent[m] += a.WireBytes;
                Accept(coordinator.Receive(a));
            }
            var roster = coordinator.CloseAdvertising();
            observe?.Invoke(coordinator);
            if (roster is null) return Failed();

            foreach (var a in roster.Where(a => Answers(a.Member, SecAggPhase.ShareKeys)))
            {
                var shares = members[a.Member].ShareKeys(roster);
                sent[a.Member] += shares.Sum(s => (long)s.WireBytes);
                Accept(coordinator.Receive(a.Member, shares));
            }
            var relayed = coordinator.CloseSharing();
            observe?.Invoke(coordinator);
            if (relayed is null) return Failed();

            foreach (var (m, shares) in relayed.Where(p => Answers(p.Key, SecAggPhase.MaskedInput)))
            {
                var input = members[m].MaskedInput(updates[m], shares);
                sent[m] += input.WireBytes;
                Accept(coordinator.Receive(input));
            }
            var survivors = coordinator.CloseInput();
            observe?.Invoke(coordinator);
            if (survivors is null) return Failed();

            foreach (var m in survivors.Where(m => Answers(m, SecAggPhase.Unmasking)))
            {
                var shares = members[m].Unmask(survivors);
                sent[m] += shares.WireBytes;
                Accept(coordinator.Receive(shares));
            }
            var sum = coordinator.CloseUnmasking();
            observe?.Invoke(coordinator);
            return new Outcome(sum, coordinator, sent);
        }
        finally
        {
            foreach (var member in members.Values) member.Dispose();
        }
    }
}
