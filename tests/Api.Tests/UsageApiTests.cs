using System.Net;
using Regatta.Network;

namespace Regatta.Api.Tests;

/// <summary>/api/users and /api/usage.</summary>
[Collection(ApiCollection.Name)]
public sealed class UsageApiTests(ApiSilo silo)
{
    private readonly HttpClient _admin = silo.Admin();
    private readonly HttpClient _anonymous = silo.Anonymous();

    [Fact]
    public async Task Users_register_once_and_read_back_with_their_totals()
    {
        var id = Http.NewId("user");
        var created = await _admin.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{id}}", "display_name": "Ada"}""")).Expect(HttpStatusCode.Created);
        Assert.Equal(("Ada", 0L), (created.Str("display_name"), created.Long("total_requests")));

        var again = await _admin.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{id}}", "display_name": "Other"}""")).Expect();
        Assert.Equal("Ada", again.Str("display_name"));
        Assert.Equal("Ada", (await _anonymous.GetAsync($"/api/users/{id}").Expect()).Str("display_name"));
    }

    [Fact]
    public async Task Bad_user_requests_are_refused_and_register_nobody()
    {
        var id = Http.NewId("nouser");
        var totals = await Totals();

        Assert.Contains("characters", await _admin.PostAsync("/api/users/register", Http.Json("""{"user_id": "a b"}""")).Problem(400, "user_id"));
        Assert.Contains("required", await _admin.PostAsync("/api/users/register", Http.Json("""{"display_name": "x"}""")).Problem(400, "user_id"));
        Assert.Contains("1 to 100", await _admin.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{id}}", "display_name": "{{new string('n', 101)}}"}""")).Problem(400, "display_name"));
        Assert.Contains("unknown field", await _admin.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{id}}", "email": "x@y"}""")).Problem(400, "email"));
        Assert.Contains("string", await _admin.PostAsync("/api/users/register", Http.Json("""{"user_id": 12}""")).Problem(400, "user_id"));

        Assert.Contains("not registered", await _anonymous.GetAsync($"/api/users/{id}").Problem(404, "id"));
        Assert.Contains("characters", await _anonymous.GetAsync("/api/users/_x").Problem(400, "id"));
        Assert.Null(await silo.Grains.GetGrain<IUserGrain>(id).Get());
        Assert.Equal(totals, await Totals());
    }

    [Fact]
    public async Task Usage_is_logged_for_registered_users_and_workers_and_listed_newest_first()
    {
        var user = Http.NewId("u");
        var worker = Http.NewId("served-by");
        await _admin.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{user}}"}""")).Expect(HttpStatusCode.Created);
        await WorkerApiTests.Register(_anonymous, worker);

        await _admin.PostAsync("/api/usage/log", Http.Json($$"""{"user_id": "{{user}}", "prompt_tokens": 10, "completion_tokens": 20, "worker_ids": ["{{worker}}"]}""")).Expect(HttpStatusCode.Created);
        var second = await _admin.PostAsync("/api/usage/log", Http.Json($$"""{"user_id": "{{user}}", "prompt_tokens": 1, "completion_tokens": 2}""")).Expect(HttpStatusCode.Created);
        Assert.Equal(user, second.Str("user_id"));

        var recent = await _anonymous.GetAsync("/api/usage/recent?limit=2").Expect();
        Assert.Equal(2, recent.GetArrayLength());
        Assert.Equal((1L, user), (recent[0].Long("prompt_tokens"), recent[0].Str("user_id")));
        Assert.Equal([worker], recent[1].GetProperty("worker_ids").EnumerateArray().Select(w => w.GetString()));
        var totals = await _anonymous.GetAsync($"/api/users/{user}").Expect();
        Assert.Equal((2L, 11L, 22L), (totals.Long("total_requests"), totals.Long("total_prompt_tokens"), totals.Long("total_completion_tokens")));
    }

    [Fact]
    public async Task Bad_usage_records_are_refused_and_count_nothing()
    {
        var user = Http.NewId("u-bad");
        var worker = Http.NewId("w-bad");
        await _admin.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{user}}"}""")).Expect(HttpStatusCode.Created);
        await WorkerApiTests.Register(_anonymous, worker);
        var totals = await Totals();
        string Body(string tokens = "\"prompt_tokens\": 1, \"completion_tokens\": 1", string? workers = null) =>
            $$"""{"user_id": "{{user}}", {{tokens}}, "worker_ids": [{{workers ?? $"\"{worker}\""}}]}""";

        Assert.Contains("missing", await _anonymous.PostAsync("/api/usage/log", Http.Json(Body())).Problem(401, "Authorization"));
        Assert.Contains("not registered", await _admin.PostAsync("/api/usage/log", Http.Json(Body().Replace(user, Http.NewId("stranger")))).Problem(404, "user_id"));
        Assert.Contains("not registered", await _admin.PostAsync("/api/usage/log", Http.Json(Body(workers: $"\"{worker}\", \"{Http.NewId("ghost")}\""))).Problem(404, "worker_ids[1]"));
        Assert.Contains("valid id", await _admin.PostAsync("/api/usage/log", Http.Json(Body(workers: "\"a b\""))).Problem(400, "worker_ids[0]"));
        Assert.Contains("[0, 10000000]", await _admin.PostAsync("/api/usage/log", Http.Json(Body("\"prompt_tokens\": -1, \"completion_tokens\": 1"))).Problem(400, "prompt_tokens"));
        Assert.Contains("required", await _admin.PostAsync("/api/usage/log", Http.Json(Body("\"prompt_tokens\": 1"))).Problem(400, "completion_tokens"));
        Assert.Contains("whole number", await _admin.PostAsync("/api/usage/log", Http.Json(Body("\"prompt_tokens\": 1.5, \"completion_tokens\": 1"))).Problem(400, "prompt_tokens"));
        Assert.Contains("array", await _admin.PostAsync("/api/usage/log", Http.Json($$"""{"user_id": "{{user}}", "prompt_tokens": 1, "completion_tokens": 1, "worker_ids": "w"}""")).Problem(400, "worker_ids"));
        Assert.Contains("[1, 1000]", await _anonymous.GetAsync("/api/usage/recent?limit=0").Problem(400, "limit"));

        Assert.Equal(totals, await Totals());
        Assert.Equal(0, (await silo.Grains.GetGrain<IUserGrain>(user).Get())!.Requests);
    }

    private Task<UsageTotals> Totals() => silo.Grains.GetGrain<IUsageLogGrain>(0).Totals();
}
