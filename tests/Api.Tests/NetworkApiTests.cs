using System.Text.Json;
using System.Net;
using Regatta.Network;
using Regatta.Tests;
using Regatta.Workers;

namespace Regatta.Api.Tests;

/// <summary>GET /api and /api/network: status, bootstrap gateways, per-layer coverage, stats and settings.</summary>
[Collection(ApiCollection.Name)]
public sealed class NetworkApiTests(ApiSilo silo)
{
    private readonly HttpClient _admin = silo.Admin();
    private readonly HttpClient _anonymous = silo.Anonymous();

    [Fact]
    public async Task Status_and_info_report_the_service_gateways_and_model()
    {
        var status = await _anonymous.GetAsync("/api").Expect();
        Assert.Equal(("online", "regatta"), (status.Str("status"), status.Str("service")));
        Assert.True(status.Int("total_workers") >= status.Int("online_workers"));

        var info = await _anonymous.GetAsync("/api/network/info").Expect();
        Assert.Equal(["127.0.0.1:" + silo.GatewayPort], info.GetProperty("bootstrap_peers").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(("transformer", 8), (info.Str("model_name"), info.Int("total_layers")));
        foreach (var field in new[] { "online_workers", "coverage_percent", "ready_for_inference", "quantization", "target_workers" })
            Assert.True(info.TryGetProperty(field, out _), field);
    }

    [Fact]
    public async Task Http_workers_serve_no_layers_so_they_stand_by_and_the_network_is_not_ready()
    {
        var first = Http.NewId("cover-a");
        var pending = Http.NewId("cover-p");
        foreach (var id in new[] { first, pending }) await WorkerApiTests.Register(_anonymous, id);
        await _admin.PostAsync($"/api/workers/{first}/approve", null).Expect();

        // 24 GB would hold the whole model, but a worker registered over HTTP has no block server: the plan leaves it out.
        var map = await _anonymous.GetAsync("/api/network/assignments").Expect();
        Assert.DoesNotContain(map.GetProperty("assignments").EnumerateArray(), a => a.Str("worker_id") == first || a.Str("worker_id") == pending);
        Assert.Equal(8, map.Int("total_layers"));
        Assert.False(map.GetProperty("ready_for_inference").GetBoolean());

        var health = await _anonymous.GetAsync("/api/network/health").Expect();
        Assert.Equal((0, 0.0, false), (health.Int("covered_layers"), health.GetProperty("coverage_percent").GetDouble(), health.GetProperty("ready_for_inference").GetBoolean()));
        Assert.Equal(8, health.GetProperty("uncovered_layers").GetArrayLength());
        Assert.DoesNotContain(first, health.GetProperty("layers")[0].GetProperty("workers").EnumerateArray().Select(w => w.GetString()));
        var info = await _anonymous.GetAsync("/api/network/info").Expect();
        Assert.Equal((0, false), (info.Int("serving_workers"), info.GetProperty("ready_for_inference").GetBoolean()));
        var workers = await _anonymous.GetAsync("/api/workers?take=500").Expect();
        var row = workers.GetProperty("items").EnumerateArray().Single(w => w.Str("worker_id") == first);
        Assert.Equal(("standby", false), (row.Str("status"), row.GetProperty("serving").GetBoolean()));
        Assert.Equal(JsonValueKind.Null, row.GetProperty("layers_start").ValueKind);
    }

    [Fact]
    public async Task The_served_model_and_replication_change_with_the_admin_key_and_refuse_bad_values()
    {
        var before = await _anonymous.GetAsync("/api/network/model").Expect();
        var reseeded = await _admin.PutAsync("/api/network/model?seed=12345", null).Expect();
        Assert.Equal(("seed:12345", 8), (reseeded.Str("model_source"), reseeded.Int("total_layers")));
        Assert.NotEqual(before.Str("model_version"), reseeded.Str("model_version"));
        Assert.Equal(reseeded.Str("model_version"), (await _anonymous.GetAsync("/api/network/assignments").Expect()).Str("model_version"));

        Assert.Contains("exactly one", await _admin.PutAsync("/api/network/model", null).Problem(400, "seed"));
        Assert.Contains("exactly one", await _admin.PutAsync("/api/network/model?seed=1&run=x", null).Problem(400, "seed"));
        Assert.Contains("≥ 0", await _admin.PutAsync("/api/network/model?seed=-3", null).Problem(400, "seed"));
        Assert.Contains("no checkpoint", await _admin.PutAsync("/api/network/model?run=never-ran", null).Problem(409, "checkpoints"));
        Assert.Contains("missing", await _anonymous.PutAsync("/api/network/model?seed=1", null).Problem(401, "Authorization"));
        Assert.Equal(reseeded.Str("model_version"), (await _anonymous.GetAsync("/api/network/model").Expect()).Str("model_version"));

        Assert.Equal(2, (await _admin.PutAsync("/api/network/replication?count=2", null).Expect()).Int("replication_target"));
        Assert.Equal(2, (await _anonymous.GetAsync("/api/network/assignments").Expect()).Int("replication_target"));
        Assert.Contains("[1, 64]", await _admin.PutAsync("/api/network/replication?count=65", null).Problem(400, "count"));
        Assert.Equal(1, (await _admin.PutAsync("/api/network/replication?count=1", null).Expect()).Int("replication_target"));
    }

    [Fact]
    public async Task Generate_refuses_bad_requests_unknown_users_and_a_network_with_no_serving_agent()
    {
        Assert.Contains("is required", await _admin.PostAsync("/api/inference/generate", Http.Json("""{"prompt_tokens": [1], "max_new_tokens": 1}""")).Problem(400, "user_id"));
        Assert.Contains("non-empty", await _admin.PostAsync("/api/inference/generate", Http.Json("""{"user_id": "u", "prompt_tokens": [], "max_new_tokens": 1}""")).Problem(400, "prompt_tokens"));
        Assert.Contains("[0, 4096]", await _admin.PostAsync("/api/inference/generate", Http.Json("""{"user_id": "u", "prompt_tokens": [1], "max_new_tokens": -1}""")).Problem(400, "max_new_tokens"));
        Assert.Contains("missing", await _anonymous.PostAsync("/api/inference/generate", Http.Json("""{"user_id": "u", "prompt_tokens": [1], "max_new_tokens": 1}""")).Problem(401, "Authorization"));
        Assert.Contains("not registered", await _admin.PostAsync("/api/inference/generate",
            Http.Json("""{"user_id": "nobody-here", "prompt_tokens": [1], "max_new_tokens": 1}""")).Problem(404, "user_id"));

        var user = Http.NewId("gen-user");
        await _admin.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{user}}"}""")).Expect(HttpStatusCode.Created);
        Assert.Contains("vocabulary", await _admin.PostAsync("/api/inference/generate",
            Http.Json($$"""{"user_id": "{{user}}", "prompt_tokens": [100000], "max_new_tokens": 1}""")).Problem(400, "prompt_tokens[0]"));
        Assert.Contains("context", await _admin.PostAsync("/api/inference/generate",
            Http.Json($$"""{"user_id": "{{user}}", "prompt_tokens": [1], "max_new_tokens": 4000}""")).Problem(400, "max_new_tokens"));
        // Workers that registered over HTTP have no block server: nobody serves.
        await _admin.PostAsync("/api/inference/generate", Http.Json($$"""{"user_id": "{{user}}", "prompt_tokens": [1], "max_new_tokens": 1}""")).Problem(503, "network");
        Assert.Equal(0, (await _anonymous.GetAsync($"/api/users/{user}").Expect()).Long("total_requests")); // nothing served, nothing counted
    }

    [Fact]
    public async Task Stats_count_workers_tokens_users_and_usage()
    {
        var before = await _anonymous.GetAsync("/api/network/stats").Expect();
        var id = Http.NewId("stats");
        using var worker = silo.WithBearer(await WorkerApiTests.Register(_anonymous, id));
        await _admin.PostAsync($"/api/workers/{id}/approve", null).Expect();
        await worker.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}", "tokens_served_since_last": 40}""")).Expect();
        var user = Http.NewId("stats-user");
        await _admin.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{user}}"}""")).Expect(HttpStatusCode.Created);
        await _admin.PostAsync("/api/usage/log", Http.Json($$"""{"user_id": "{{user}}", "prompt_tokens": 3, "completion_tokens": 4, "worker_ids": ["{{id}}"]}""")).Expect(HttpStatusCode.Created);

        var after = await _anonymous.GetAsync("/api/network/stats").Expect();
        Assert.Equal(before.Int("total_workers") + 1, after.Int("total_workers"));
        Assert.Equal(before.Long("total_tokens_served") + 40, after.Long("total_tokens_served"));
        Assert.Equal(before.Long("total_users") + 1, after.Long("total_users"));
        Assert.Equal(before.Long("total_requests") + 1, after.Long("total_requests"));
        Assert.Equal(before.Long("total_completion_tokens") + 4, after.Long("total_completion_tokens"));
    }

    [Fact]
    public async Task Quantization_and_target_workers_change_with_the_admin_key_and_refuse_bad_values()
    {
        var settings = silo.Grains.GetGrain<INetworkSettingsGrain>(0);
        Assert.Equal("int8", (await _admin.PutAsync("/api/network/quantization?mode=int8", null).Expect()).Str("quantization"));
        Assert.Equal(7, (await _admin.PutAsync("/api/network/target-workers?count=7", null).Expect()).Int("target_workers"));
        Assert.Equal(7, (await _anonymous.GetAsync("/api/network/target-workers").Expect()).Int("target_workers"));

        Assert.Contains("none, float32, float16, bfloat16, int8, nf4", await _admin.PutAsync("/api/network/quantization?mode=int4", null).Problem(400, "mode"));
        Assert.Contains("required", await _admin.PutAsync("/api/network/quantization", null).Problem(400, "mode"));
        Assert.Contains("missing", await _anonymous.PutAsync("/api/network/quantization?mode=nf4", null).Problem(401, "Authorization"));
        Assert.Contains("[1, 10000]", await _admin.PutAsync("/api/network/target-workers?count=0", null).Problem(400, "count"));
        Assert.Contains("[1, 10000]", await _admin.PutAsync("/api/network/target-workers?count=seven", null).Problem(400, "count"));
        Assert.Contains("required", await _admin.PutAsync("/api/network/target-workers", null).Problem(400, "count"));
        Assert.Contains("missing", await _anonymous.PutAsync("/api/network/target-workers?count=9", null).Problem(401, "Authorization"));
        Assert.Contains("not allowed", await _admin.PostAsync("/api/network/target-workers?count=9", null).Problem(405, "method"));

        var now = await settings.Get();
        Assert.Equal(("int8", 7), (now.Quantization, now.TargetWorkers));
        var info = await _anonymous.GetAsync("/api/network/info").Expect();
        Assert.Equal(("int8", 7), (info.Str("quantization"), info.Int("target_workers")));
    }
}
