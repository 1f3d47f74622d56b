using System.Reflection;
using Regatta.Network;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Silo.Api;

/// <summary>GET /api and /api/network: status, bootstrap gateways, per-layer coverage, stats and the operator's settings.</summary>
public static class NetworkEndpoints
{
    private static readonly string Version =
        typeof(NetworkEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    public static RouteGroupBuilder MapNetworkEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("", Status).WithTags("Network").Produces<ApiStatusDto>().WithSummary("Health and basic status");
        // The volunteer network's apps link a browser to {coordinator}/dashboard; with /api as their base URL it lands here.
        api.MapGet("/dashboard", () => Results.Redirect("/")).WithTags("Network").Produces(StatusCodes.Status302Found)
            .WithSummary("Redirects to the dashboard");
        var network = api.MapGroup("/network").WithTags("Network");
        network.MapGet("/info", Info).Produces<NetworkInfoDto>().WithSummary("Bootstrap gateways and the served model");
        network.MapGet("/health", Health).Produces<NetworkHealthDto>().WithSummary("Per-layer coverage by workers whose agents serve their layers");
        network.MapGet("/stats", Stats).Produces<NetworkStatsDto>().WithSummary("Overall worker, usage and coverage statistics");
        network.MapPut("/quantization", SetQuantization).RequireAdminKey().Produces<NetworkSettingsDto>().Problems(400, 401)
            .WithSummary("Set the quantization mode (?mode=none|int8|nf4)");
        network.MapGet("/target-workers", TargetWorkers).Produces<TargetWorkersDto>().WithSummary("The target worker count");
        network.MapPut("/target-workers", SetTargetWorkers).RequireAdminKey().Produces<TargetWorkersDto>().Problems(400, 401)
            .WithSummary($"Set the target worker count (?count=1..{NetworkLimits.MaxTargetWorkers})");
        return api;
    }

    private static async Task<IResult> Status(IGrainFactory grains, TimeProvider time)
    {
        var counts = await grains.GetGrain<IWorkerRegistryGrain>(0).Counts();
        var runs = await NetworkDirectory.Runs(grains);
        return TypedResults.Ok(new ApiStatusDto("online", "regatta", Version, time.GetUtcNow(), counts.Online, counts.Pending, counts.Total,
            runs.Count, runs.Count(r => !r.State.IsTerminal())));
    }

    private static async Task<IResult> Info(IGrainFactory grains)
    {
        var (settings, map, counts) = await Snapshot(grains);
        return TypedResults.Ok(new NetworkInfoDto(settings.ModelName, settings.TotalLayers, await NetworkDirectory.Gateways(grains), counts.Online,
            map.Serving.Count, map.CoveragePercent, map.ReadyForInference, settings.Quantization, settings.TargetWorkers));
    }

    private static async Task<IResult> Health(IGrainFactory grains)
    {
        var (settings, map, counts) = await Snapshot(grains);
        var layers = Enumerable.Range(0, map.Blocks).Select(b => new LayerCoverageDto(b, map.ServingReplicas[b], map.ServersOf(b))).ToList();
        return TypedResults.Ok(new NetworkHealthDto(settings.ModelName, settings.TotalLayers, map.CoveredBlocks, map.CoveragePercent,
            map.ReadyForInference, [.. layers.Where(l => l.Replicas == 0).Select(l => l.Layer)], layers, map.Serving.Count, counts.Online,
            map.PlannedCoveragePercent));
    }

    private static async Task<IResult> Stats(IGrainFactory grains)
    {
        var (settings, map, counts) = await Snapshot(grains);
        var workers = await NetworkDirectory.Workers(grains);
        var views = await Task.WhenAll(workers.Select(w => grains.GetGrain<IWorkerOperatorGrain>(w.WorkerId).GetView()));
        var usage = await grains.GetGrain<IUsageLogGrain>(0).Totals();
        var runs = await NetworkDirectory.Runs(grains);
        return TypedResults.Ok(new NetworkStatsDto(counts.Total, counts.Online, counts.Pending, counts.Offline, map.Serving.Count,
            views.Sum(v => v.TokensServed), map.CoveragePercent, map.ReadyForInference, settings.Quantization, settings.TargetWorkers, usage.Users,
            usage.Requests, usage.PromptTokens, usage.CompletionTokens, runs.Count, runs.Count(r => !r.State.IsTerminal())));
    }

    private static async Task<IResult> SetQuantization(HttpContext http, IGrainFactory grains)
    {
        var mode = ApiQuery.String(http, "mode");
        if (mode is null || !NetworkLimits.QuantizationModes.Contains(mode))
            throw ApiProblemException.BadRequest("mode", $"is required: one of {string.Join(", ", NetworkLimits.QuantizationModes)}");
        return TypedResults.Ok(NetworkSettingsDto.Of(await grains.GetGrain<INetworkSettingsGrain>(0).SetQuantization(mode)));
    }

    private static async Task<IResult> TargetWorkers(IGrainFactory grains)
    {
        var settings = await NetworkDirectory.Settings(grains);
        var counts = await grains.GetGrain<IWorkerRegistryGrain>(0).Counts();
        return TypedResults.Ok(new TargetWorkersDto(settings.TargetWorkers, counts.Online));
    }

    private static async Task<IResult> SetTargetWorkers(HttpContext http, IGrainFactory grains)
    {
        var count = ApiQuery.RequiredInt(http, "count", 1, NetworkLimits.MaxTargetWorkers);
        var settings = await grains.GetGrain<INetworkSettingsGrain>(0).SetTargetWorkers(count);
        var counts = await grains.GetGrain<IWorkerRegistryGrain>(0).Counts();
        return TypedResults.Ok(new TargetWorkersDto(settings.TargetWorkers, counts.Online));
    }

    /// <summary>The settings, the layer map as served (the one read model of coverage and readiness) and the worker counts.</summary>
    private static async Task<(NetworkSettings, LayerMapView, WorkerCounts)> Snapshot(IGrainFactory grains)
    {
        var settings = NetworkDirectory.Settings(grains);
        var map = grains.GetGrain<ILayerMapGrain>(0).GetView();
        var counts = grains.GetGrain<IWorkerRegistryGrain>(0).Counts();
        return (await settings, await map, await counts);
    }
}
