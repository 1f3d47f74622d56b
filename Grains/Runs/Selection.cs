using Regatta.Runs;

namespace Regatta.Grains.Runs;

/// <summary>Deterministic choices from the run seed, so every replay of a round picks the same clients and witnesses.</summary>
public static class Selection
{
    public static List<string> SelectClients(IReadOnlyList<string> active, SelectionSpec spec, long seed, int round, int attempt)
    {
        var ordered = active.Order(StringComparer.Ordinal).ToList();
        var count = spec.Strategy switch
        {
            SelectionStrategy.All => ordered.Count,
            SelectionStrategy.RandomK => Math.Min(spec.K, ordered.Count),
            SelectionStrategy.Fraction => Math.Min(ordered.Count, Math.Max(1, (int)Math.Ceiling(spec.Fraction * ordered.Count))),
            _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Strategy, "unknown selection strategy"),
        };
        if (count == ordered.Count) return ordered;
        return Shuffle(ordered, Mix(seed, round, attempt, 1)).Take(count).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Witnesses come from members who did not train this round; when too few, from those who did.</summary>
    public static List<string> SelectWitnesses(IReadOnlyList<string> active, IReadOnlyCollection<string> trainers, int count, long seed, int round, int attempt)
    {
        if (count <= 0) return [];
        var rng = Mix(seed, round, attempt, 2);
        var idle = Shuffle(active.Where(a => !trainers.Contains(a)).Order(StringComparer.Ordinal).ToList(), rng);
        var busy = Shuffle(trainers.Order(StringComparer.Ordinal).ToList(), rng);
        return idle.Concat(busy).Take(count).Order(StringComparer.Ordinal).ToList();
    }

    private static List<string> Shuffle(List<string> items, ulong state)
    {
        var list = new List<string>(items);
        for (var i = list.Count - 1; i > 0; i--)
        {
            state = SplitMix(state);
            var j = (int)(state % (ulong)(i + 1));
            (list[i], list[j]) = (list[j], list[i]);
        }
        return list;
    }

    private static ulong Mix(long seed, int round, int attempt, int purpose) =>
        SplitMix(SplitMix(SplitMix((ulong)seed ^ (ulong)purpose * 0x9E3779B97F4A7C15UL) ^ (ulong)round) ^ (ulong)attempt);

    // SplitMix64: a tiny, well-mixed, platform-independent generator (System.Random's sequence is not a contract).
    private static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
