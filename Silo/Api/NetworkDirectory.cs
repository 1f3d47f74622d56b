using Regatta.Network;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Silo.Api;

/// <summary>What the network endpoints read from the cluster: gateways, every worker, and its settings.</summary>
public static class NetworkDirectory
{
    /// <summary>The gateways of the active silos as host:port: what an Orleans client (a worker agent) connects to.</summary>
    public static async Task<List<string>> Gateways(IGrainFactory grains)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true);
        return [.. hosts.Where(h => h.ProxyPort > 0).Select(h => $"{h.SiloAddress.Endpoint.Address}:{h.ProxyPort}").Order(StringComparer.Ordinal)];
    }

    /// <summary>The gateways of the active silos as endpoints (GET /api/cluster/gateways).</summary>
    public static async Task<List<System.Net.IPEndPoint>> GatewayEndpoints(IGrainFactory grains)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true);
        return [.. hosts.Where(h => h.ProxyPort > 0).Select(h => new System.Net.IPEndPoint(h.SiloAddress.Endpoint.Address, h.ProxyPort))
            .Distinct().OrderBy(e => e.ToString(), StringComparer.Ordinal)];
    }

    public static async Task<List<WorkerSummary>> Workers(IGrainFactory grains)
    {
        var registry = grains.GetGrain<IWorkerRegistryGrain>(0);
        var all = new List<WorkerSummary>();
        Page<WorkerSummary> page;
        do
        {
            page = await registry.List(all.Count, Grains.Paging.MaxTake);
            all.AddRange(page.Items);
        } while (page.Items.Count > 0 && all.Count < page.Total);
        return all;
    }

    public static async Task<List<RunSummary>> Runs(IGrainFactory grains)
    {
        var registry = grains.GetGrain<IRunRegistryGrain>(0);
        var all = new List<RunSummary>();
        Page<RunSummary> page;
        do
        {
            page = await registry.List(all.Count, Grains.Paging.MaxTake);
            all.AddRange(page.Items);
        } while (page.Items.Count > 0 && all.Count < page.Total);
        return all;
    }

    /// <summary>The settings, with the model as actually served (an operator may serve a run's checkpoint of another shape).</summary>
    public static async Task<NetworkSettings> Settings(IGrainFactory grains) => (await NetworkView.ReadAsync(grains)).Settings;
}
