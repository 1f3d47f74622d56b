using Regatta.Network;

namespace Regatta.Silo.Api;

/// <summary>Bearer tokens: the admin API key for operator actions, a worker's own token for what a worker does.</summary>
public static class ApiAuth
{
    public static string? Bearer(HttpContext http)
    {
        var header = http.Request.Headers.Authorization;
        if (header.Count != 1) return null;
        var value = header[0]!;
        return value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && value.Length > 7 ? value[7..].Trim() : null;
    }

    public static bool IsAdmin(HttpContext http) =>
        http.RequestServices.GetRequiredService<AdminApiKey>().Matches(Bearer(http));

    /// <summary>Whether the bearer token is the one issued to <paramref name="workerId"/> (an id already validated).</summary>
    public static async Task<bool> IsWorker(HttpContext http, string workerId) =>
        Bearer(http) is { Length: > 0 and <= 200 } token &&
        await http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IWorkerTokenGrain>(workerId).Matches(AdminApiKey.Hash(token));

    public static ApiProblemException Unauthorized(HttpContext http, string what)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        var message = Bearer(http) is null
            ? $"missing; send 'Authorization: Bearer <{what}>'"
            : $"the bearer token is not {what}";
        return new ApiProblemException(StatusCodes.Status401Unauthorized, "Authorization", message, "unauthorized");
    }

    /// <summary>Endpoints that change state on an operator's behalf need the admin API key.</summary>
    public static TBuilder RequireAdminKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            if (!IsAdmin(context.HttpContext)) throw Unauthorized(context.HttpContext, "the admin API key");
            return await next(context);
        });
}
