using Regatta.Workers;

namespace Regatta.Dashboard.Views;

/// <summary>
/// How the model's blocks are covered by approved, online workers' layer ranges; the network is ready for inference
/// when every block has at least one.
/// </summary>
public sealed record LayerCoverage(int Blocks, IReadOnlyList<int> WorkersPerBlock, int ServingWorkers)
{
    public bool Ready => Blocks > 0 && WorkersPerBlock.All(n => n > 0);
    public int CoveredBlocks => WorkersPerBlock.Count(n => n > 0);
    public double Fraction => Blocks == 0 ? 0 : (double)CoveredBlocks / Blocks;

    /// <summary>Workers whose heartbeat stopped do not serve: only approved workers that are not offline count.</summary>
    public static bool Serves(WorkerView w) => w.Approval == ApprovalStatus.Approved && w.Liveness != Liveness.Offline && w.Layers is not null;

    /// <param name="blocks">The model's block count when known; otherwise the highest layer end any worker holds.</param>
    public static LayerCoverage From(IEnumerable<WorkerView> workers, int? blocks = null)
    {
        var all = workers.Where(w => w.Layers is { } l && l.End > l.Start && l.Start >= 0).ToList();
        var count = blocks ?? (all.Count == 0 ? 0 : all.Max(w => w.Layers!.End));
        var perBlock = new int[count];
        var serving = all.Where(Serves).ToList();
        foreach (var w in serving)
            for (var b = w.Layers!.Start; b < Math.Min(w.Layers.End, count); b++) perBlock[b]++;
        return new LayerCoverage(count, perBlock, serving.Count);
    }
}
