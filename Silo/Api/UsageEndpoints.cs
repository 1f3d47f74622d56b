using Regatta.Grains.Security;
using Regatta.Network;
using Regatta.Workers;

namespace Regatta.Silo.Api;

/// <summary>/api/users and /api/usage: users of the inference network and what they consumed.</summary>
public static class UsageEndpoints
{
    public static RouteGroupBuilder MapUsageEndpoints(this RouteGroupBuilder api)
    {
        var users = api.MapGroup("/users").WithTags("Users and usage");
        users.MapPost("/register", RegisterUser).RequireRateLimiting(ApiRateLimits.UserRegisterPolicy)
            .Accepts<UserRegistrationRequest>("application/json").Produces<UserRegistrationReply>(201).Produces<UserRegistrationReply>()
            .Problems(400, 413, 415, 429)
            .WithSummary("Register a user (201) with no key: the reply's api_key (shown once) authorises their usage logs and generation. " +
                         "Registering a known id again returns it unchanged and without a key (200); with the admin key it issues a new key");
        users.MapGet("/{id}", GetUser).Produces<UserDto>().Problems(400, 404).WithSummary("A user and their usage totals");
        var usage = api.MapGroup("/usage").WithTags("Users and usage");
        usage.MapPost("/log", Log)
            .Accepts<UsageLogRequest>("application/json").Produces<UsageEntryDto>(201).Problems(400, 401, 403, 404, 413, 415)
            .WithSummary("Record one inference request of a registered user, served by registered workers: the user's own API key, " +
                         "or the admin key for any user");
        usage.MapGet("/recent", Recent).Produces<List<UsageEntryDto>>().Problems(400)
            .WithSummary($"The latest usage records, newest first (?limit=1..{UsageLimits.KeptEntries}, default 20)");
        return api;
    }

    private static async Task<IResult> RegisterUser(HttpContext http, IGrainFactory grains, ILoggerFactory logs)
    {
        var request = (await ApiBody.JsonAsync<UserRegistrationRequest>(http))!;
        var userId = ApiQuery.Id(request.UserId, "user_id");
        if (request.DisplayName is { } name && (string.IsNullOrWhiteSpace(name) || name.Length > 100))
            throw ApiProblemException.BadRequest("display_name", "must be 1 to 100 characters when given");
        var grain = grains.GetGrain<IUserGrain>(userId);
        var key = UserKeys.New(userId);
        var result = await grain.Register(request.DisplayName ?? userId, Secrets.Hash(key));
        string? issued = result.Created ? key : null;
        if (!result.Created && ApiAuth.IsAdmin(http))
        {
            await grain.SetKey(Secrets.Hash(key)); // an operator re-issues the key of a user who lost it
            issued = key;
        }
        logs.CreateLogger("Regatta.Api.Users").LogInformation("User {UserId} registered from {Remote}: {Outcome}", userId,
            http.Connection.RemoteIpAddress, result.Created ? "new" : issued is null ? "known" : "key re-issued");
        var reply = new UserRegistrationReply(UserDto.Of(result.User), issued);
        return result.Created ? TypedResults.Created($"/api/users/{userId}", reply) : TypedResults.Ok(reply);
    }

    private static async Task<IResult> GetUser(string id, IGrainFactory grains)
    {
        var user = await grains.GetGrain<IUserGrain>(ApiQuery.Id(id, "id")).Get();
        return user is null
            ? throw new ApiProblemException(StatusCodes.Status404NotFound, "id", $"user '{id}' is not registered", "unknown_user")
            : TypedResults.Ok(UserDto.Of(user));
    }

    private static async Task<IResult> Log(HttpContext http, IGrainFactory grains, TimeProvider time)
    {
        var request = (await ApiBody.JsonAsync<UsageLogRequest>(http))!;
        var errors = new Dictionary<string, string[]>();
        if (!Ids.IsValid(request.UserId)) errors["user_id"] = [request.UserId is null ? "is required" : "is not a valid id"];
        if (request.PromptTokens is not (>= 0 and <= UsageLimits.MaxTokensPerRequest))
            errors["prompt_tokens"] = [$"is required: a whole number in [0, {UsageLimits.MaxTokensPerRequest}]"];
        if (request.CompletionTokens is not (>= 0 and <= UsageLimits.MaxTokensPerRequest))
            errors["completion_tokens"] = [$"is required: a whole number in [0, {UsageLimits.MaxTokensPerRequest}]"];
        var workerIds = request.WorkerIds ?? [];
        if (workerIds.Count > UsageLimits.MaxWorkersPerRequest)
            errors["worker_ids"] = [$"at most {UsageLimits.MaxWorkersPerRequest} workers"];
        for (var i = 0; i < workerIds.Count && i < UsageLimits.MaxWorkersPerRequest; i++)
            if (!Ids.IsValid(workerIds[i])) errors[$"worker_ids[{i}]"] = ["is not a valid id"];
        if (errors.Count > 0) throw new ApiProblemException(StatusCodes.Status400BadRequest, errors, "bad_usage");
        await ApiAuth.RequireUser(http, request.UserId!);

        var user = grains.GetGrain<IUserGrain>(request.UserId!);
        if (await user.Get() is null)
            throw new ApiProblemException(StatusCodes.Status404NotFound, "user_id", $"user '{request.UserId}' is not registered", "unknown_user");
        var views = await Task.WhenAll(workerIds.Select(w => grains.GetGrain<IWorkerOperatorGrain>(w).GetView()));
        var unknown = views.Select((v, i) => (v, i)).Where(x => x.v.Approval == ApprovalStatus.Unregistered).ToList();
        if (unknown.Count > 0)
            throw new ApiProblemException(StatusCodes.Status404NotFound,
                unknown.ToDictionary(x => $"worker_ids[{x.i}]", x => new[] { $"worker '{workerIds[x.i]}' is not registered" }), "unknown_worker");

        var entry = new UsageEntry
        {
            UserId = request.UserId!,
            PromptTokens = request.PromptTokens!.Value,
            CompletionTokens = request.CompletionTokens!.Value,
            WorkerIds = [.. workerIds],
            At = time.GetUtcNow(),
        };
        await user.RecordUsage(entry.PromptTokens, entry.CompletionTokens, entry.At);
        await grains.GetGrain<IUsageLogGrain>(0).Append(entry);
        return TypedResults.Created($"/api/users/{entry.UserId}", UsageEntryDto.Of(entry));
    }

    private static async Task<IResult> Recent(HttpContext http, IGrainFactory grains)
    {
        var limit = ApiQuery.Int(http, "limit", 20, 1, UsageLimits.KeptEntries);
        return TypedResults.Ok((await grains.GetGrain<IUsageLogGrain>(0).Recent(limit)).Select(UsageEntryDto.Of).ToList());
    }
}
