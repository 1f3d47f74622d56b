using System.Text.Json.Serialization;
using Regatta.Workers;

namespace Regatta.Silo.Api;

public sealed record LayerCoverage(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("replicas")] int Replicas,
    [property: JsonPropertyName("workers")] List<string> Workers);

/// <summary>
/// Which of the model's blocks 0..L-1 are served by at least one approved, online worker, from the layer range each
/// worker holds. Nothing assigns layers yet, so this reports exactly what workers hold: often nothing.
/// </summary>
public sealed record NetworkCoverage(int TotalLayers, int CoveredLayers, List<LayerCoverage> Layers, List<int> Uncovered, int ServingWorkers)
{
    public double Percent => TotalLayers == 0 ? 0 : Math.Round(100.0 * CoveredLayers / TotalLayers, 2);
    public bool Ready => TotalLayers > 0 && CoveredLayers == TotalLayers;

    public static NetworkCoverage Compute(int totalLayers, IEnumerable<WorkerView> workers)
    {
        var serving = workers.Where(w => w.Approval == ApprovalStatus.Approved && w.Liveness != Liveness.Offline && w.Layers is not null)
            .OrderBy(w => w.WorkerId, StringComparer.Ordinal).ToList();
        var layers = Enumerable.Range(0, Math.Max(0, totalLayers)).Select(block =>
        {
            var holders = serving.Where(w => w.Layers!.Start <= block && block < w.Layers.End).Select(w => w.WorkerId).ToList();
            return new LayerCoverage(block, holders.Count, holders);
        }).ToList();
        return new NetworkCoverage(totalLayers, layers.Count(l => l.Replicas > 0), layers,
            [.. layers.Where(l => l.Replicas == 0).Select(l => l.Layer)], serving.Count(w => w.Layers!.End > 0 && w.Layers.Start < totalLayers));
    }
}
