using Regatta.Grains.Security;
using Regatta.Network;

namespace Regatta.Silo.Api;

/// <summary>
/// Bearer tokens: the admin API key for operator actions, a worker's own token for what a worker does, a user's own
/// API key for what a user does.
/// </summary>
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
        await http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IWorkerTokenGrain>(workerId).Matches(Secrets.Hash(token));

    /// <summary>
    /// Lets the request act for <paramref name="userId"/> (an id already validated): the admin key acts for anyone,
    /// a user's API key only for that user (403 for another user's, 401 without a valid key). True for the admin key.
    /// </summary>
    public static async Task<bool> RequireUser(HttpContext http, string userId)
    {
        if (IsAdmin(http)) return true;
        var key = Bearer(http);
        var owner = UserKeys.UserOf(key);
        var what = $"the admin API key or the API key of user '{userId}' (issued by POST /api/users/register)";
        if (owner is null || !await http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IUserGrain>(owner).KeyMatches(Secrets.Hash(key!)))
            throw Unauthorized(http, what);
        if (owner != userId)
            throw new ApiProblemException(StatusCodes.Status403Forbidden, "user_id",
                $"this API key belongs to user '{owner}'; it acts only for that user, not for '{userId}'", "forbidden");
        return false;
    }

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
