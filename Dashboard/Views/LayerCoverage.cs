using Regatta.Network;

namespace Regatta.Dashboard.Views;

/// <summary>
/// The layer map's served coverage, shaped for the charts: workers serving each block, and whether the network is
/// ready. Readiness is the layer map's (one rule for REST, dashboard and router), never recomputed here.
/// </summary>
public sealed record LayerCoverage(int Blocks, IReadOnlyList<int> WorkersPerBlock, int ServingWorkers, bool Ready)
{
    public int CoveredBlocks => WorkersPerBlock.Count(n => n > 0);
    public double Fraction => Blocks == 0 ? 0 : (double)CoveredBlocks / Blocks;

    public static LayerCoverage From(LayerMapView? map) => map is null
        ? new LayerCoverage(0, [], 0, false)
        : new LayerCoverage(map.Blocks, map.ServingReplicas, map.Serving.Count, map.ReadyForInference);
}
