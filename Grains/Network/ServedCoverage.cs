using Regatta.Network;
using Regatta.Workers;

namespace Regatta.Grains.Network;

/// <summary>What a worker's agent last announced it serves.</summary>
public sealed record Announcement(string ModelVersion, LayerRange Layers);

/// <summary>
/// The network as it serves, not as planned: of the plan's assignments, only those whose worker announced a block
/// server for exactly that range of the planned version count toward coverage, readiness and routing. The one place
/// that decides whether the network is ready for inference (REST, dashboard and the router all read it from here).
/// </summary>
public static class ServedCoverage
{
    public static LayerMapView Apply(LayerMapView plan, IReadOnlyDictionary<string, Announcement> announced)
    {
        var serving = new Dictionary<string, LayerRange>(StringComparer.Ordinal);
        var replicas = new int[plan.Blocks];
        foreach (var (workerId, layers) in plan.Assignments)
        {
            if (!announced.TryGetValue(workerId, out var a) || a.ModelVersion != plan.ModelVersion || a.Layers != layers) continue;
            serving[workerId] = layers;
            for (var b = Math.Max(0, layers.Start); b < Math.Min(layers.End, plan.Blocks); b++) replicas[b]++;
        }
        var covered = replicas.Count(r => r > 0);
        return plan with
        {
            Serving = serving,
            ServingReplicas = [.. replicas],
            CoveragePercent = Percent(covered, plan.Blocks),
            ReadyForInference = plan.Blocks > 0 && covered == plan.Blocks,
            PlannedCoveragePercent = Percent(plan.Replicas.Count(r => r > 0), plan.Blocks),
        };
    }

    private static double Percent(int covered, int blocks) => blocks == 0 ? 0 : Math.Round(100.0 * covered / blocks, 2);
}
