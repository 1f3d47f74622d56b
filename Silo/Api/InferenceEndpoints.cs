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
            .Accepts<GenerateRequestDto>("application/json").Produces<GenerateResultDto>().Produces(200, contentType: "text/event-stream")
            .Problems(400, 401, 403, 404, 409, 413, 415, 429, 503)
            .WithSummary("Generate text or tokens for a registered user through a chain of workers serving every layer; usage is logged once. "
                + "Needs the user's own API key (limited in tokens per minute) or the admin key. "
                + "With Accept: text/event-stream each token is a server-sent event \"token\" as it is produced and the last is \"usage\" (the result)");
        var network = api.MapGroup("/network").WithTags("Network");
        network.MapGet("/assignments", Assignments).Produces<LayerMapDto>()
            .WithSummary("The layer plan: each worker's layers, replicas per layer, readiness and the recommended worker count");
        network.MapGet("/model", Model).Produces<ServedModelDto>().WithSummary("The served model and where its weights come from");
        network.MapPut("/model", ServeModel).RequireAdminKey().Produces<ServedModelDto>().Problems(400, 401, 404, 409)
            .WithSummary("Serve a seeded initialisation (?seed=N), a training run's checkpoint (?run=ID, &round=N else the latest) or a Hugging Face model folder on the silo (?folder=PATH)");
        network.MapPut("/replication", SetReplication).RequireAdminKey().Produces<NetworkSettingsDto>().Problems(400, 401)
            .WithSummary($"Set the servers wanted per layer (?count=1..{NetworkLimits.MaxReplication})");
        return api;
    }

    private static async Task<IResult> Generate(HttpContext http, IGrainFactory grains, UserTokenLimiter limiter)
    {
        var body = (await ApiBody.JsonAsync<GenerateRequestDto>(http))!;
        var errors = new Dictionary<string, string[]>();
        if (!Ids.IsValid(body.UserId)) errors["user_id"] = [body.UserId is null ? "is required" : "is not a valid id"];
        if (body.Prompt is null && body.PromptTokens is not { Count: > 0 }) errors["prompt_tokens"] = ["is required (or prompt): a non-empty array of token ids"];
        if (body.Prompt is not null && body.PromptTokens is not null) errors["prompt"] = ["give either prompt or prompt_tokens, not both"];
        if (body.Prompt is { Length: 0 or > InferenceLimits.MaxPromptChars }) errors["prompt"] = [$"must be 1 to {InferenceLimits.MaxPromptChars} characters"];
        if (body.Chat == true && body.Prompt is null) errors["chat"] = ["needs a text prompt"];
        if (body.MaxNewTokens is not (>= 0 and <= InferenceLimits.MaxNewTokens))
            errors["max_new_tokens"] = [$"is required: a whole number in [0, {InferenceLimits.MaxNewTokens}]"];
        if (errors.Count > 0) throw new ApiProblemException(StatusCodes.Status400BadRequest, errors, "bad_request");
        if (!await ApiAuth.RequireUser(http, body.UserId!))
        {
            // A text prompt is not tokenized yet: it is charged a token per character, never fewer than it can hold.
            var tokens = (body.PromptTokens?.Count ?? body.Prompt!.Length) + body.MaxNewTokens!.Value;
            if (tokens > limiter.PerMinute)
                throw ApiProblemException.BadRequest("max_new_tokens", $"prompt and new tokens ({tokens}) exceed a user's {limiter.PerMinute} tokens per minute");
            if (limiter.Take(body.UserId!, tokens) is { } retry)
            {
                await ApiRateLimits.WriteAsync(http, "user", retry);
                return Results.Empty;
            }
        }
        var request = new GenerationRequest
        {
            UserId = body.UserId!,
            PromptTokens = body.PromptTokens ?? [],
            Prompt = body.Prompt,
            Chat = body.Chat ?? false,
            StopAtEos = body.StopAtEos ?? body.Prompt is not null,
            UseSessions = body.Sessions ?? true,
            MaxNewTokens = body.MaxNewTokens!.Value,
            Temperature = body.Temperature ?? 0,
            TopK = body.TopK ?? 0,
            Seed = body.Seed ?? 0,
        };
        if (http.Request.Headers.Accept.Any(a => a is not null && a.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase)))
            return await Stream(http, grains, request);
        return TypedResults.Ok(GenerateResultDto.Of(await grains.GetGrain<IInferenceGrain>(0).Generate(request)));
    }

    /// <summary>
    /// Server-sent events: "token" per token as it is produced, "usage" (the result) last. A refusal before the first
    /// token is an ordinary problem response; a failure after it is an "error" event, as the status is sent by then.
    /// </summary>
    private static async Task<IResult> Stream(HttpContext http, IGrainFactory grains, GenerationRequest request)
    {
        var stream = grains.GetGrain<IInferenceStreamGrain>(Guid.NewGuid().ToString("n")).Stream(request);
        await using var events = stream.GetAsyncEnumerator(http.RequestAborted);
        var more = await events.MoveNextAsync();
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var json = http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        try
        {
            for (; more; more = await events.MoveNextAsync())
            {
                var e = events.Current;
                var (name, data) = e.Result is { } result
                    ? ("usage", System.Text.Json.JsonSerializer.Serialize(GenerateResultDto.Of(result), json))
                    : ("token", System.Text.Json.JsonSerializer.Serialize(new TokenEventDto(e.Token, e.Text), json));
                await http.Response.WriteAsync($"event: {name}\ndata: {data}\n\n", http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
            }
        }
        catch (RegattaException e)
        {
            var problem = System.Text.Json.JsonSerializer.Serialize(new { code = e.Code, detail = e.Message }, json);
            await http.Response.WriteAsync($"event: error\ndata: {problem}\n\n", http.RequestAborted);
        }
        return Results.Empty;
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
        var folder = ApiQuery.String(http, "folder");
        if (new[] { run, seed, folder }.Count(v => v is not null) != 1) throw ApiProblemException.BadRequest("seed", "give exactly one of ?seed=N, ?run=ID or ?folder=PATH");
        var map = grains.GetGrain<ILayerMapGrain>(0);
        if (folder is not null) return TypedResults.Ok(ServedModelDto.Of(await map.ServeFolder(folder)));
        if (run is not null)
        {
            int? round = ApiQuery.String(http, "round") is null ? null : ApiQuery.RequiredInt(http, "round", 1, int.MaxValue);
            return TypedResults.Ok(ServedModelDto.Of(await map.ServeCheckpoint(ApiQuery.Id(run, "run"), round)));
        }
        if (!long.TryParse(seed, out var value) || value < 0) throw ApiProblemException.BadRequest("seed", "must be a whole number ≥ 0");
        return TypedResults.Ok(ServedModelDto.Of(await map.ServeSeed(value)));
    }

    private static async Task<IResult> SetReplication(HttpContext http, IGrainFactory grains)
    {
        var count = ApiQuery.RequiredInt(http, "count", 1, NetworkLimits.MaxReplication);
        return TypedResults.Ok(NetworkSettingsDto.Of(await grains.GetGrain<INetworkSettingsGrain>(0).SetReplication(count)));
    }
}
