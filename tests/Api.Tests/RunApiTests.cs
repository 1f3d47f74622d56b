using Microsoft.Extensions.DependencyInjection;
using System.Net;
using Regatta.Runs;
using Regatta.Tests;

namespace Regatta.Api.Tests;

/// <summary>/api/runs: submitting specs as YAML and JSON, the lifecycle actions, and every way a request can be wrong.</summary>
[Collection(ApiCollection.Name)]
public sealed class RunApiTests(ApiSilo silo)
{
    private const string Yaml = """
        name: api quick
        model: { name: mlp, parameters: { inputs: 4, hidden: 8, classes: 2 } }
        data: { source: blobs, partitions: 2, samplesPerClient: 50, validationSamples: 100 }
        rounds: 2
        warmup: 300ms
        witnesses: { count: 1, quorum: 1, lossTolerance: 10 }
        """;

    private readonly HttpClient _admin = silo.Admin();
    private readonly HttpClient _anonymous = silo.Anonymous();

    [Fact]
    public async Task A_yaml_spec_creates_a_run_that_reads_back_the_same()
    {
        var id = Http.NewId("yaml");
        var created = await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml(Yaml)).Expect(HttpStatusCode.Created);

        Assert.Equal(id, created.Str("runId"));
        Assert.Equal("created", created.Str("state"));
        Assert.Equal("300ms", created.GetProperty("spec").Str("warmup"));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, created.GetProperty("accuracy").ValueKind); // NaN is null in JSON
        var read = await _anonymous.GetAsync($"/api/runs/{id}").Expect();
        Assert.Equal("api quick", read.Str("name"));
        Assert.Equal(2, read.GetProperty("spec").Int("rounds"));
        Assert.Equal(RunState.Created, (await silo.Grains.GetGrain<IRunGrain>(id).GetView()).State);
    }

    [Fact]
    public async Task A_json_spec_is_accepted_and_an_id_is_generated_from_its_name()
    {
        var json = """
            {"name": "json run", "model": {"name": "mlp", "parameters": {"inputs": 4, "hidden": 8, "classes": 2}},
             "data": {"source": "blobs", "partitions": 2, "samplesPerClient": 50},
             "rounds": 3, "warmup": "1s", "roundDeadline": 30, "aggregation": {"strategy": "median"}}
            """;
        var created = await _admin.PostAsync("/api/runs", Http.Json(json)).Expect(HttpStatusCode.Created);

        var id = created.Str("runId");
        Assert.StartsWith("json-run-", id);
        Assert.True(Ids.IsValid(id));
        Assert.Equal("median", created.GetProperty("spec").GetProperty("aggregation").Str("strategy"));
        Assert.Equal("30s", created.GetProperty("spec").Str("roundDeadline"));
        var list = await _anonymous.GetAsync("/api/runs?take=500").Expect();
        Assert.Contains(list.GetProperty("items").EnumerateArray(), r => r.Str("runId") == id);
    }

    [Fact]
    public async Task Bad_specs_are_refused_with_the_path_at_fault_and_create_nothing()
    {
        var before = await RunCount();
        var id = Http.NewId("bad");

        Assert.Contains("unknown field 'foo'", await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml("name: x\nfoo: 1\n")).Problem(400, "spec"));
        Assert.Contains("line", await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml("name: [unclosed\n")).Problem(400, "spec"));
        Assert.Contains("not one of", await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml("aggregation: { strategy: fedMagic }\n")).Problem(400, "spec"));
        Assert.Equal("must not be null", await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml("model: ~\n")).Problem(400, "model"));
        Assert.Equal("must be in [0, 0.5)",
            await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml(Yaml + "\naggregation: { trimFraction: 0.7 }\n")).Problem(400, "aggregation.trimFraction"));
        Assert.Contains("at least 1", await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml(Yaml.Replace("rounds: 2", "rounds: 2\nminClients: 0"))).Problem(400, "minClients"));
        Assert.Contains("unknown model", await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml(Yaml.Replace("name: mlp", "name: gpt9"))).Problem(400, "model.name"));

        Assert.Contains("unknown field", await _admin.PostAsync($"/api/runs?id={id}", Http.Json("""{"name": "x", "roundz": 3}""")).Problem(400, "roundz"));
        Assert.Contains("unknown field", await _admin.PostAsync($"/api/runs?id={id}", Http.Json("""{"model": {"nmae": "mlp"}}""")).Problem(400, "model.nmae"));
        Assert.Contains("whole number", await _admin.PostAsync($"/api/runs?id={id}", Http.Json("""{"rounds": "ten"}""")).Problem(400, "rounds"));
        Assert.Contains("whole number", await _admin.PostAsync($"/api/runs?id={id}", Http.Json("""{"rounds": 2.5}""")).Problem(400, "rounds"));
        Assert.Contains("fedAvg", await _admin.PostAsync($"/api/runs?id={id}", Http.Json("""{"aggregation": {"strategy": "nope"}}""")).Problem(400, "aggregation.strategy"));
        Assert.Contains("duration", await _admin.PostAsync($"/api/runs?id={id}", Http.Json("""{"warmup": "soon"}""")).Problem(400, "warmup"));
        Assert.Equal("must not be null", await _admin.PostAsync($"/api/runs?id={id}", Http.Json("""{"model": null}""")).Problem(400, "model"));
        Assert.Contains("more than once", await _admin.PostAsync($"/api/runs?id={id}", Http.Json("""{"rounds": 1, "rounds": 2}""")).Problem(400, "rounds"));
        Assert.Contains("malformed JSON", await _admin.PostAsync($"/api/runs?id={id}", Http.Json("""{"rounds": 1""")).Problem(400, "body"));
        Assert.Contains("must be", await _admin.PostAsync($"/api/runs?id={id}", Http.Json("[1, 2]")).Problem(400, "body"));
        Assert.Contains("required", await _admin.PostAsync($"/api/runs?id={id}", Http.Json("")).Problem(400, "body"));
        Assert.Contains("application/yaml", await _admin.PostAsync($"/api/runs?id={id}", new StringContent(Yaml)).Problem(415, "Content-Type"));
        Assert.Contains("characters", await _admin.PostAsync("/api/runs?id=bad%20id", Http.Yaml(Yaml)).Problem(400, "id"));
        Assert.Contains("characters", await _admin.PostAsync($"/api/runs?id={new string('a', 65)}", Http.Yaml(Yaml)).Problem(400, "id"));

        Assert.Equal(before, await RunCount());
        Assert.Equal("", (await silo.Grains.GetGrain<IRunGrain>(id).GetView()).RunId);
    }

    [Fact]
    public async Task A_join_token_is_never_shown_in_the_run_its_kit_or_its_json()
    {
        const string token = "consortium-secret-2030";
        var id = Http.NewId("token");
        var created = await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml(Yaml + $"\njoinToken: {token}\n")).Expect(HttpStatusCode.Created);
        var started = await _admin.PostAsync($"/api/runs/{id}/start", null).Expect();

        Assert.DoesNotContain(token, created.GetRawText());
        Assert.DoesNotContain(token, started.GetRawText());
        Assert.DoesNotContain(token, await _anonymous.GetStringAsync($"/api/runs/{id}"));
        var view = await silo.Grains.GetGrain<IRunGrain>(id).GetView();
        Assert.Null(view.Spec.JoinToken);
        var kit = await silo.Services.GetRequiredService<Regatta.Grains.Models.IBlobStore>().ReadAllAsync(view.KitHash!);
        Assert.DoesNotContain(token, System.Text.Encoding.UTF8.GetString(kit));
        Assert.Null(RunSpecYaml.Parse(RunKit.FromBytes(kit).SpecYaml).JoinToken);
    }

    [Fact]
    public async Task Submitting_needs_the_admin_key_and_an_oversized_body_is_refused()
    {
        var before = await RunCount();
        var id = Http.NewId("auth");

        Assert.Contains("missing", await _anonymous.PostAsync($"/api/runs?id={id}", Http.Yaml(Yaml)).Problem(401, "Authorization"));
        using var wrong = silo.WithBearer("not-the-key");
        Assert.Contains("not the admin API key", await wrong.PostAsync($"/api/runs?id={id}", Http.Yaml(Yaml)).Problem(401, "Authorization"));
        var huge = Yaml + "\n#" + new string('x', 1_100_000);
        Assert.Contains("limit", await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml(huge)).Problem(413, "body"));

        Assert.Equal(before, await RunCount());
        Assert.Equal("", (await silo.Grains.GetGrain<IRunGrain>(id).GetView()).RunId);
    }

    [Fact]
    public async Task A_second_run_with_the_same_id_is_a_conflict_and_keeps_the_first()
    {
        var id = Http.NewId("twice");
        await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml(Yaml)).Expect(HttpStatusCode.Created);

        Assert.Contains("already exists", await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml(Yaml.Replace("rounds: 2", "rounds: 9"))).Problem(409, "id"));

        Assert.Equal(2, (await silo.Grains.GetGrain<IRunGrain>(id).GetView()).Spec.Rounds);
    }

    [Fact]
    public async Task Lifecycle_actions_move_the_run_and_refuse_what_its_state_does_not_allow()
    {
        var id = Http.NewId("life");
        await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml(Yaml)).Expect(HttpStatusCode.Created);

        Assert.Contains("missing", await _anonymous.PostAsync($"/api/runs/{id}/start", null).Problem(401, "Authorization"));
        Assert.Equal("created", (await _anonymous.GetAsync($"/api/runs/{id}").Expect()).Str("state"));
        Assert.Contains("state", await _admin.PostAsync($"/api/runs/{id}/resume", null).Problem(409, "state"));

        Assert.Equal("waitingForMembers", (await _admin.PostAsync($"/api/runs/{id}/start", null).Expect()).Str("state"));
        Assert.Contains("state", await _admin.PostAsync($"/api/runs/{id}/start", null).Problem(409, "state"));
        var paused = await _admin.PostAsync($"/api/runs/{id}/pause", null).Expect();
        Assert.Equal(("paused", "waitingForMembers"), (paused.Str("state"), paused.Str("pausedFrom")));
        Assert.Equal("waitingForMembers", (await _admin.PostAsync($"/api/runs/{id}/resume", null).Expect()).Str("state"));

        Assert.Contains("1 to 500", await _admin.PostAsync($"/api/runs/{id}/cancel", Http.Json("""{"reason": ""}""")).Problem(400, "reason"));
        Assert.Contains("unknown field", await _admin.PostAsync($"/api/runs/{id}/cancel", Http.Json("""{"why": "x"}""")).Problem(400, "why"));
        Assert.Equal(RunState.WaitingForMembers, (await silo.Grains.GetGrain<IRunGrain>(id).GetView()).State);

        var cancelled = await _admin.PostAsync($"/api/runs/{id}/cancel", Http.Json("""{"reason": "api test done"}""")).Expect();
        Assert.Equal("cancelled", cancelled.Str("state"));
        Assert.Contains(cancelled.GetProperty("timeline").EnumerateArray(), t => t.Str("reason").Contains("api test done"));
        Assert.Contains("Cancelled", await _admin.PostAsync($"/api/runs/{id}/pause", null).Problem(409, "state"));
        Assert.Equal(RunState.Cancelled, (await silo.Grains.GetGrain<IRunGrain>(id).GetView()).State);
    }

    [Theory]
    [InlineData("POST", "start")]
    [InlineData("POST", "pause")]
    [InlineData("POST", "resume")]
    [InlineData("POST", "cancel")]
    [InlineData("GET", "")]
    [InlineData("GET", "rounds")]
    [InlineData("GET", "metrics")]
    [InlineData("GET", "jobs")]
    [InlineData("GET", "reports")]
    public async Task Unknown_runs_are_404_and_bad_ids_400_on_every_run_route(string method, string action)
    {
        var unknown = Http.NewId("ghost");
        var suffix = action.Length == 0 ? "" : "/" + action;

        Assert.Contains("does not exist", await _admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"/api/runs/{unknown}{suffix}")).Problem(404, "id"));
        Assert.Contains("characters", await _admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"/api/runs/-dash{suffix}")).Problem(400, "id"));

        Assert.Equal("", (await silo.Grains.GetGrain<IRunGrain>(unknown).GetView()).RunId);
    }

    [Fact]
    public async Task Listing_pages_and_refuses_bad_paging()
    {
        for (var i = 0; i < 3; i++)
            await _admin.PostAsync($"/api/runs?id={Http.NewId("page")}", Http.Yaml(Yaml)).Expect(HttpStatusCode.Created);

        var page = await _anonymous.GetAsync("/api/runs?skip=1&take=2").Expect();
        Assert.Equal(2, page.GetProperty("items").GetArrayLength());
        Assert.Equal((1, 2), (page.Int("skip"), page.Int("take")));
        Assert.True(page.Int("total") >= 3);

        Assert.Contains("[1, 500]", await _anonymous.GetAsync("/api/runs?take=0").Problem(400, "take"));
        Assert.Contains("[1, 500]", await _anonymous.GetAsync("/api/runs?take=abc").Problem(400, "take"));
        Assert.Contains("[1, 500]", await _anonymous.GetAsync("/api/runs?take=501").Problem(400, "take"));
        Assert.Contains("whole number", await _anonymous.GetAsync("/api/runs?skip=-1").Problem(400, "skip"));
        Assert.Contains("more than once", await _anonymous.GetAsync("/api/runs?skip=1&skip=2").Problem(400, "skip"));
        var id = Http.NewId("jobs");
        await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml(Yaml)).Expect(HttpStatusCode.Created);
        Assert.Contains("[1, 500]", await _anonymous.GetAsync($"/api/runs/{id}/jobs?take=0").Problem(400, "take"));
        Assert.Equal(0, (await _anonymous.GetAsync($"/api/runs/{id}/jobs").Expect()).Int("total"));
    }

    [Fact]
    public async Task Unknown_paths_and_methods_under_api_are_problems_too()
    {
        Assert.Contains("no endpoint", await _anonymous.GetAsync("/api/nothing-here").Problem(404, "path"));
        Assert.Contains("not allowed", await _anonymous.DeleteAsync("/api/runs").Problem(405, "method"));
    }

    private async Task<int> RunCount() => (await _anonymous.GetAsync("/api/runs?take=1").Expect()).Int("total");
}
