using System.Net;
using Regatta.Network;
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
    public async Task Health_reports_which_blocks_the_approved_online_workers_hold()
    {
        var first = Http.NewId("cover-a");
        var second = Http.NewId("cover-b");
        var pending = Http.NewId("cover-p");
        foreach (var id in new[] { first, second, pending }) await WorkerApiTests.Register(_anonymous, id);
        await _admin.PostAsync($"/api/workers/{first}/approve", null).Expect();
        await _admin.PostAsync($"/api/workers/{second}/approve", null).Expect();
        // Nothing assigns layers yet: give the workers ranges directly, as a layer assigner will.
        await silo.Grains.GetGrain<IWorkerGrain>(first).SetLayers(new LayerRange(0, 5), "test");
        await silo.Grains.GetGrain<IWorkerGrain>(pending).SetLayers(new LayerRange(5, 8), "test"); // pending: does not count
        try
        {
            var half = await _anonymous.GetAsync("/api/network/health").Expect();
            Assert.Equal((5, 62.5, false), (half.Int("covered_layers"), half.GetProperty("coverage_percent").GetDouble(), half.GetProperty("ready_for_inference").GetBoolean()));
            Assert.Equal([5, 6, 7], half.GetProperty("uncovered_layers").EnumerateArray().Select(l => l.GetInt32()));

            await silo.Grains.GetGrain<IWorkerGrain>(second).SetLayers(new LayerRange(4, 8), "test");
            var full = await _anonymous.GetAsync("/api/network/health").Expect();
            Assert.True(full.GetProperty("ready_for_inference").GetBoolean());
            Assert.Equal(100, full.GetProperty("coverage_percent").GetDouble());
            var layer4 = full.GetProperty("layers")[4];
            Assert.Equal((4, 2), (layer4.Int("layer"), layer4.Int("replicas")));
            Assert.Equal([first, second], layer4.GetProperty("workers").EnumerateArray().Select(w => w.GetString()));
            var info = await _anonymous.GetAsync("/api/network/info").Expect();
            Assert.True(info.GetProperty("ready_for_inference").GetBoolean());
            var stats = await _anonymous.GetAsync("/api/network/stats").Expect();
            Assert.Equal(2, stats.Int("serving_workers"));

            await _admin.DeleteAsync($"/api/workers/{second}").Expect(HttpStatusCode.NoContent); // offline: its blocks are lost
            var after = await _anonymous.GetAsync("/api/network/health").Expect();
            Assert.Equal([5, 6, 7], after.GetProperty("uncovered_layers").EnumerateArray().Select(l => l.GetInt32()));
        }
        finally
        {
            foreach (var id in new[] { first, second, pending }) await silo.Grains.GetGrain<IWorkerGrain>(id).SetLayers(null, "test");
        }
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

        Assert.Contains("none, int8, nf4", await _admin.PutAsync("/api/network/quantization?mode=int4", null).Problem(400, "mode"));
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
