using System.Net;

namespace Regatta.Silo.Api;

/// <summary>
/// GET /api/cluster/gateways: where the live silos' Orleans gateways are, for worker agents started with
/// <c>--gateways-url</c>. Anonymous and read-only (agents hold no credential for it; they must not need the cluster
/// database either), rate-limited per remote address, and it answers nothing beyond the gateway endpoints.
/// </summary>
public static class ClusterEndpoints
{
    public static RouteGroupBuilder MapClusterEndpoints(this RouteGroupBuilder api)
    {
        api.MapGroup("/cluster").WithTags("Cluster")
            .MapGet("/gateways", Gateways).RequireRateLimiting(ApiRateLimits.GatewaysPolicy)
            .Produces<GatewayListDto>().Problems(429)
            .WithSummary("The gateways (host:port) of the active silos: what a worker agent's Orleans client connects to");
        return api;
    }

    private static async Task<IResult> Gateways(HttpContext http, IGrainFactory grains)
    {
        http.Response.Headers.CacheControl = "no-store";
        var gateways = await NetworkDirectory.GatewayEndpoints(grains);
        return TypedResults.Ok(new GatewayListDto([.. gateways.Select(g => g.ToString())]));
    }
}

/// <summary>The gateways as <c>ip:port</c> (<c>[v6]:port</c> for IPv6), sorted.</summary>
public sealed record GatewayListDto(List<string> Gateways);
