using Regatta.Workers;

namespace Regatta.Grains.Network;

/// <summary>One hop of a chain: a worker runs blocks [From, To).</summary>
public sealed record Hop(string WorkerId, int From, int To);

/// <summary>
/// Picks the next worker for a request at a given block: among the workers holding that block and not excluded
/// (they failed this request), the one that reaches furthest, so chains stay short; ties go to the worker that
/// has carried the fewest hops, so load spreads across replicas.
/// </summary>
public sealed class ChainRouter(IReadOnlyDictionary<string, LayerRange> assignments)
{
    private readonly Dictionary<string, int> _load = new(StringComparer.Ordinal);

    public Hop? Next(int block, IReadOnlySet<string> excluded)
    {
        var best = assignments
            .Where(a => a.Value.Contains(block) && !excluded.Contains(a.Key))
            .OrderByDescending(a => a.Value.End)
            .ThenBy(a => _load.GetValueOrDefault(a.Key))
            .ThenBy(a => a.Key, StringComparer.Ordinal)
            .Select(a => (KeyValuePair<string, LayerRange>?)a)
            .FirstOrDefault();
        if (best is not { } chosen) return null;
        _load[chosen.Key] = _load.GetValueOrDefault(chosen.Key) + 1;
        return new Hop(chosen.Key, block, chosen.Value.End);
    }

    /// <summary>A whole chain from block 0, or null when some block has no server left.</summary>
    public List<Hop>? Chain(int blocks, IReadOnlySet<string> excluded)
    {
        var hops = new List<Hop>();
        for (var block = 0; block < blocks;)
        {
            if (Next(block, excluded) is not { } hop) return null;
            hops.Add(hop);
            block = hop.To;
        }
        return hops;
    }
}
