using Regatta.Network;

namespace Regatta.Silo.Api;

/// <summary>
/// /api/inference: generation through the layer-sharded network; /api/network/assignments, /model and /replication:
/// the layer map, the served model and the replication target.
/// </summary>
public static class InferenceEndpoints
{
    public static RouteGroupBuilder MapInferenceEndpoints(this RouteGroupBuilder api)
    {
        var inference = api.MapGroup("/inference").WithTags("Inference");
        inference.MapPost("/generate", Generate)
            .Accepts<GenerateRequestDto>("application/json").Produces<GenerateResultDto>().Problems(400, 401, 403, 404, 409, 413, 415, 429, 503)
            .WithSummary("Generate tokens for a registered user through a chain of workers serving every layer; usage is logged once. " +
                         "Needs the user's own API key (limited in tokens per minute) or the admin key");
        var network = api.MapGroup("/network").WithTags("Network");
        network.MapGet("/assignments", Assignments).Produces<LayerMapDto>()
            .WithSummary("The layer plan: each worker's layers, replicas per layer, readiness and the recommended worker count");
        network.MapGet("/model", Model).Produces<ServedModelDto>().WithSummary("The served model and where its weights come from");
        network.MapPut("/model", ServeModel).RequireAdminKey().Produces<ServedModelDto>().Problems(400, 401, 404, 409)
            .WithSummary("Serve a seeded initialisation (?seed=N) or a training run's latest checkpoint (?run=ID)");
        network.MapPut("/replication", SetReplication).RequireAdminKey().Produces<NetworkSettingsDto>().Problems(400, 401)
            .WithSummary($"Set the servers wanted per layer (?count=1..{NetworkLimits.MaxReplication})");
        return api;
    }

    private static async Task<IResult> Generate(HttpContext http, IGrainFactory grains, UserTokenLimiter limiter)
    {
        var body = (await ApiBody.JsonAsync<GenerateRequestDto>(http))!;
        var errors = new Dictionary<string, string[]>();
        if (!Ids.IsValid(body.UserId)) errors["user_id"] = [body.UserId is null ? "is required" : "is not a valid id"];
        if (body.PromptTokens is not { Count: > 0 }) errors["prompt_tokens"] = ["is required: a non-empty array of token ids"];
        if (body.MaxNewTokens is not (>= 0 and <= InferenceLimits.MaxNewTokens))
            errors["max_new_tokens"] = [$"is required: a whole number in [0, {InferenceLimits.MaxNewTokens}]"];
        if (errors.Count > 0) throw new ApiProblemException(StatusCodes.Status400BadRequest, errors, "bad_request");
        if (!await ApiAuth.RequireUser(http, body.UserId!))
        {
            var tokens = body.PromptTokens!.Count + body.MaxNewTokens!.Value;
            if (tokens > limiter.PerMinute)
                throw ApiProblemException.BadRequest("max_new_tokens", $"prompt and new tokens ({tokens}) exceed a user's {limiter.PerMinute} tokens per minute");
            if (limiter.Take(body.UserId!, tokens) is { } retry)
            {
                await ApiRateLimits.WriteAsync(http, "user", retry);
                return Results.Empty;
            }
        }
        var result = await grains.GetGrain<IInferenceGrain>(0).Generate(new GenerationRequest
        {
            UserId = body.UserId!,
            PromptTokens = body.PromptTokens!,
            MaxNewTokens = body.MaxNewTokens!.Value,
            Temperature = body.Temperature ?? 0,
            TopK = body.TopK ?? 0,
            Seed = body.Seed ?? 0,
        });
        return TypedResults.Ok(GenerateResultDto.Of(result));
    }

    private static async Task<IResult> Assignments(IGrainFactory grains)
    {
        var map = grains.GetGrain<ILayerMapGrain>(0);
        return TypedResults.Ok(LayerMapDto.Of(await map.GetView(), await map.GetModel()));
    }

    private static async Task<IResult> Model(IGrainFactory grains) =>
        TypedResults.Ok(ServedModelDto.Of(await grains.GetGrain<ILayerMapGrain>(0).GetModel()));

    private static async Task<IResult> ServeModel(HttpContext http, IGrainFactory grains)
    {
        var run = ApiQuery.String(http, "run");
        var seed = ApiQuery.String(http, "seed");
        if ((run is null) == (seed is null)) throw ApiProblemException.BadRequest("seed", "give exactly one of ?seed=N or ?run=ID");
        var map = grains.GetGrain<ILayerMapGrain>(0);
        if (run is not null) return TypedResults.Ok(ServedModelDto.Of(await map.ServeCheckpoint(ApiQuery.Id(run, "run"))));
        if (!long.TryParse(seed, out var value) || value < 0) throw ApiProblemException.BadRequest("seed", "must be a whole number ≥ 0");
        return TypedResults.Ok(ServedModelDto.Of(await map.ServeSeed(value)));
    }

    private static async Task<IResult> SetReplication(HttpContext http, IGrainFactory grains)
    {
        var count = ApiQuery.RequiredInt(http, "count", 1, NetworkLimits.MaxReplication);
        return TypedResults.Ok(NetworkSettingsDto.Of(await grains.GetGrain<INetworkSettingsGrain>(0).SetReplication(count)));
    }
}
