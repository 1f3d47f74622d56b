using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Learning.Data;

public enum PartitionScheme { Iid, Dirichlet }

/// <summary>Cuts example indices into disjoint partitions, IID or non-IID (Dirichlet label skew).</summary>
public static class Partitioner
{
    private const int DirichletAttempts = 50;

    /// <summary>
    /// Index sets, one per partition, disjoint and together covering [0, strata.Length). <paramref name="strata"/>
    /// holds each example's class (what Dirichlet skews on). Deterministic from <paramref name="seed"/>.
    /// </summary>
    public static long[][] Split(long[] strata, int parts, PartitionScheme scheme, double alpha, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        if (strata.Length < parts)
            throw new ArgumentException($"{strata.Length} examples cannot fill {parts} partitions");
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed, CPU);
        var split = scheme == PartitionScheme.Iid ? Iid(strata.Length, parts, generator) : Dirichlet(strata, parts, alpha, generator);
        // Shuffle within each partition so a later train/hold-out cut is not ordered by class.
        return split.Select(p => Shuffle(p, generator)).ToArray();
    }

    private static List<long>[] Iid(int count, int parts, Generator generator)
    {
        var order = randperm(count, generator: generator).data<long>().ToArray();
        return Enumerable.Range(0, parts)
            .Select(p => order[(int)((long)count * p / parts)..(int)((long)count * (p + 1) / parts)].ToList())
            .ToArray();
    }

    /// <summary>
    /// For every class, proportions over the partitions drawn from Dirichlet(alpha·1): small alpha gives each
    /// partition a few dominant classes. Redrawn while some partition is nearly empty, then topped up.
    /// </summary>
    private static List<long>[] Dirichlet(long[] strata, int parts, double alpha, Generator generator)
    {
        var minimum = Math.Clamp(strata.Length / (2 * parts), 1, 10);
        var byClass = strata.Select((s, i) => (s, i: (long)i)).GroupBy(p => p.s).OrderBy(g => g.Key)
            .Select(g => g.Select(p => p.i).ToArray()).ToArray();
        using var concentration = full(parts, alpha, float64);
        var distribution = distributions.Dirichlet(concentration, generator);
        List<long>[] split = [];
        for (var attempt = 0; attempt < DirichletAttempts; attempt++)
        {
            split = Enumerable.Range(0, parts).Select(_ => new List<long>()).ToArray();
            foreach (var members in byClass)
            {
                var shuffled = Shuffle(members, generator);
                var shares = distribution.sample().data<double>().ToArray();
                // Cumulative cut points; a degenerate draw (tiny alpha underflows to all zeros) gives the class to one partition.
                var total = shares.Sum();
                if (!(total > 0)) shares = OneHot(parts, randint(0, parts, [1], dtype: int64, generator: generator).item<long>());
                total = shares.Sum();
                var start = 0;
                var cumulative = 0.0;
                for (var p = 0; p < parts; p++)
                {
                    cumulative += shares[p] / total;
                    var end = p == parts - 1 ? shuffled.Length : (int)Math.Round(cumulative * shuffled.Length);
                    split[p].AddRange(shuffled[start..Math.Max(start, end)]);
                    start = Math.Max(start, end);
                }
            }
            if (split.All(p => p.Count >= minimum)) return split;
        }
        TopUp(split, minimum);
        return split;
    }

    /// <summary>Moves examples from the largest partitions to those below the minimum.</summary>
    private static void TopUp(List<long>[] split, int minimum)
    {
        foreach (var poor in split.Where(p => p.Count < minimum))
        {
            while (poor.Count < minimum)
            {
                var rich = split.MaxBy(p => p.Count)!;
                poor.Add(rich[^1]);
                rich.RemoveAt(rich.Count - 1);
            }
        }
    }

    private static double[] OneHot(int parts, long at) => Enumerable.Range(0, parts).Select(p => p == at ? 1.0 : 0.0).ToArray();

    private static long[] Shuffle(IReadOnlyList<long> items, Generator generator)
    {
        var order = randperm(items.Count, generator: generator).data<long>().ToArray();
        return order.Select(i => items[(int)i]).ToArray();
    }
}
