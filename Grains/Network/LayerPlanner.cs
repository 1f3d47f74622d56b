using Regatta.Workers;

namespace Regatta.Grains.Network;

/// <summary>One worker as the planner sees it: how many blocks fit in its memory, and what it holds now.</summary>
public sealed record PlannerWorker(string WorkerId, long MemoryBytes, LayerRange? Current = null);

/// <summary>A plan: each worker's blocks (or why it holds none), servers per block, and what it adds up to.</summary>
public sealed record LayerPlan(
    IReadOnlyDictionary<string, LayerRange> Assignments,
    IReadOnlyDictionary<string, string> Standby,
    int[] Replicas,
    int RecommendedWorkers)
{
    public int Blocks => Replicas.Length;
    public int Covered => Replicas.Count(r => r > 0);
    public double CoveragePercent => Blocks == 0 ? 0 : Math.Round(100.0 * Covered / Blocks, 2);
    public bool Ready => Blocks > 0 && Covered == Blocks;
    public int WeakestReplicas => Replicas.Length == 0 ? 0 : Replicas.Min();
}

/// <summary>
/// Assigns contiguous block ranges to workers from their memory and the bytes a block takes:
/// every worker holds as many blocks as fit (at most all of them); coverage comes first, then the weakest block
/// gets the next server, so replication grows evenly toward the target. Ranges that still fit are kept when the
/// set of workers changes (moving a range costs the worker a download), unless keeping them leaves a block
/// uncovered or weaker than a fresh plan would.
/// </summary>
public static class LayerPlanner
{
    public static LayerPlan Plan(int blocks, long bytesPerBlock, int replicationTarget, IEnumerable<PlannerWorker> workers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blocks);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerBlock, 1);
        var standby = new Dictionary<string, string>(StringComparer.Ordinal);
        var able = new List<(PlannerWorker Worker, int Capacity)>();
        foreach (var w in workers.DistinctBy(w => w.WorkerId).OrderBy(w => w.WorkerId, StringComparer.Ordinal))
        {
            var capacity = (int)Math.Min(blocks, Math.Max(0, w.MemoryBytes) / bytesPerBlock);
            if (capacity == 0) standby[w.WorkerId] = $"{w.MemoryBytes} bytes offered, one block needs {bytesPerBlock}";
            else able.Add((w, capacity));
        }
        var recommended = Recommended(blocks, Math.Max(1, replicationTarget), able.Select(a => a.Capacity).ToList());
        if (blocks == 0) return new LayerPlan(new Dictionary<string, LayerRange>(), standby, [], 0);

        var sticky = Place(blocks, able, keepCurrent: true);
        var fresh = Place(blocks, able, keepCurrent: false);
        var (assignments, replicas) = Better(sticky, fresh, blocks);
        return new LayerPlan(assignments, standby, replicas, recommended);
    }

    /// <summary>The sticky plan unless the fresh one covers more blocks or makes the weakest block stronger.</summary>
    private static (Dictionary<string, LayerRange>, int[]) Better(
        (Dictionary<string, LayerRange> A, int[] R) sticky, (Dictionary<string, LayerRange> A, int[] R) fresh, int blocks)
    {
        var stickyCovered = sticky.R.Count(r => r > 0);
        var freshCovered = fresh.R.Count(r => r > 0);
        if (freshCovered > stickyCovered) return fresh;
        if (freshCovered == stickyCovered && fresh.R.Min() > sticky.R.Min()) return fresh;
        return sticky;
    }

    private static (Dictionary<string, LayerRange>, int[]) Place(int blocks, List<(PlannerWorker Worker, int Capacity)> able, bool keepCurrent)
    {
        var replicas = new int[blocks];
        var assignments = new Dictionary<string, LayerRange>(StringComparer.Ordinal);
        var waiting = new List<(PlannerWorker Worker, int Capacity)>();
        foreach (var a in able)
        {
            if (keepCurrent && a.Worker.Current is { } c && c.Start >= 0 && c.End <= blocks && c.Count > 0 && c.Count == a.Capacity)
                Assign(a.Worker.WorkerId, c);
            else waiting.Add(a);
        }
        // Largest first: big workers tile the model in few hops; then each next worker goes where coverage is thinnest.
        waiting = [.. waiting.OrderByDescending(a => a.Capacity).ThenBy(a => a.Worker.WorkerId, StringComparer.Ordinal)];
        if (!keepCurrent)
        {
            var next = 0;
            var tiled = 0;
            for (; tiled < waiting.Count && next < blocks; tiled++)
            {
                var capacity = waiting[tiled].Capacity;
                var start = Math.Min(next, blocks - capacity);
                Assign(waiting[tiled].Worker.WorkerId, new LayerRange(start, start + capacity));
                next = start + capacity;
            }
            waiting = waiting[tiled..];
        }
        foreach (var a in waiting) Assign(a.Worker.WorkerId, Thinnest(replicas, a.Capacity));
        return (assignments, replicas);

        void Assign(string workerId, LayerRange range)
        {
            assignments[workerId] = range;
            for (var b = range.Start; b < range.End; b++) replicas[b]++;
        }
    }

    /// <summary>The window of <paramref name="length"/> blocks whose weakest block has the fewest servers, then the fewest in total, then the first.</summary>
    private static LayerRange Thinnest(int[] replicas, int length)
    {
        var best = 0;
        (int Min, long Sum) bestScore = (int.MaxValue, long.MaxValue);
        for (var start = 0; start + length <= replicas.Length; start++)
        {
            var (min, sum) = (int.MaxValue, 0L);
            foreach (var r in replicas.AsSpan(start, length))
            {
                min = Math.Min(min, r);
                sum += r;
            }
            if (min < bestScore.Min || (min == bestScore.Min && sum < bestScore.Sum))
            {
                bestScore = (min, sum);
                best = start;
            }
        }
        return new LayerRange(best, best + length);
    }

    /// <summary>Workers needed for the target replication if each held as many blocks as a typical (median) worker here.</summary>
    private static int Recommended(int blocks, int replication, List<int> capacities)
    {
        if (blocks == 0) return 0;
        if (capacities.Count == 0) return replication; // nothing known: assume a worker holds the whole model
        var typical = capacities.Order().ElementAt(capacities.Count / 2);
        return (int)Math.Ceiling((double)blocks * replication / typical);
    }
}
