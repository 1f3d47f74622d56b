using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Regatta.Workers;

namespace Regatta.Api.Tests;

/// <summary>
/// The volunteer-inference coordinator's worker app and client app, walked over HTTP exactly as they call it: the
/// seed's endpoints, snake_case fields and status words, with /api as their base URL and no admin key of their own.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class SeedFlowTests(ApiSilo silo)
{
    private readonly HttpClient _admin = silo.Admin(); // the operator, on the dashboard's side
    private readonly HttpClient _app = silo.Anonymous();

    [Fact]
    public async Task The_worker_app_registers_heartbeats_with_the_status_it_was_given_and_stands_by_once_approved()
    {
        var id = Http.NewId("seed-worker");
        Assert.Equal("online", (await _app.GetAsync("/api").Expect()).Str("status")); // health_check()
        var info = await _app.GetAsync("/api/network/info").Expect();
        Assert.False(info.GetProperty("ready_for_inference").GetBoolean());
        Assert.NotEmpty(info.GetProperty("bootstrap_peers").EnumerateArray());

        var registered = await _app.PostAsync("/api/workers/register", Http.Json($$"""
            {"worker_id": "{{id}}", "nickname": "Mac Studio", "hardware_type": "cpu", "device_name": "M2 Ultra", "vram_gb": 64, "requested_layers": 4}
            """)).Expect();
        var status = registered.Str("status");
        Assert.Equal(("pending", true), (status, registered.GetProperty("is_idle").GetBoolean()));
        Assert.Contains("HTTP", registered.GetProperty("ignored").GetProperty("requested_layers").GetString());
        Assert.NotEmpty(registered.GetProperty("initial_peers").EnumerateArray());
        using var worker = silo.WithBearer(registered.Str("worker_token"));

        // The app heartbeats with the status it holds: the one it was given.
        var beat = await worker.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}", "tokens_served_since_last": 0, "status": "{{status}}"}""")).Expect();
        Assert.Equal(("pending", "pending", "pending", true), (beat.Str("worker_status"), beat.Str("status"), beat.Str("reported_status"), beat.GetProperty("is_idle").GetBoolean()));
        await worker.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}", "status": "PENDING"}""")).Expect(); // any case

        await _admin.PostAsync($"/api/workers/{id}/approve", null).Expect();
        beat = await worker.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}", "tokens_served_since_last": 0, "status": "approved"}""")).Expect();
        // Approved with no layers: standby (an HTTP worker has no block server, so it is never given blocks).
        Assert.Equal(("approved", "standby", true), (beat.Str("worker_status"), beat.Str("status"), beat.GetProperty("is_idle").GetBoolean()));
        Assert.Equal(JsonValueKind.Null, beat.GetProperty("layers_start").ValueKind);
        Assert.Contains("Regatta agent", beat.Str("standby_reason"));
        Assert.Equal(registered.Str("model_name"), beat.Str("model_name"));
        foreach (var word in new[] { "standby", "Idle", "serving", "busy", "offline" })
        {
            var reply = await worker.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}", "tokens_served_since_last": 5, "status": "{{word}}"}""")).Expect();
            Assert.Equal(word.ToLowerInvariant(), reply.Str("reported_status"));
        }
        var row = (await _app.GetAsync("/api/workers?take=500").Expect()).GetProperty("items").EnumerateArray().Single(w => w.Str("worker_id") == id);
        Assert.Equal(("offline", 25L), (row.Str("reported_status"), row.Long("tokens_served")));
        Assert.Equal("standby", row.Str("status")); // it still heartbeats, so the coordinator does not call it offline

        var stats = await _app.GetAsync("/api/network/stats").Expect();
        Assert.False(stats.GetProperty("ready_for_inference").GetBoolean());
        var health = await _app.GetAsync("/api/network/health").Expect();
        Assert.DoesNotContain(id, health.GetProperty("layers").EnumerateArray().SelectMany(l => l.GetProperty("workers").EnumerateArray()).Select(w => w.GetString()));
        var quantization = await _admin.PutAsync("/api/network/quantization?mode=int8", null).Expect();
        Assert.Equal("int8", quantization.Str("quantization"));
        await _admin.PutAsync("/api/network/quantization?mode=none", null).Expect();
        var target = await _admin.PutAsync("/api/network/target-workers?count=7", null).Expect();
        Assert.Equal(7, (await _app.GetAsync("/api/network/target-workers").Expect()).Int("target_workers"));
        Assert.Equal(7, target.Int("target_workers"));

        // Another worker's token reaches nothing of this one.
        var other = Http.NewId("seed-other");
        using var impostor = silo.WithBearer(await WorkerApiTests.Register(_app, other));
        await impostor.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}", "status": "online"}""")).Problem(401, "Authorization");
        await impostor.DeleteAsync($"/api/workers/{id}").Problem(401, "Authorization");

        await worker.DeleteAsync($"/api/workers/{id}").Expect(HttpStatusCode.NoContent); // shutdown
        var view = await silo.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView();
        Assert.Equal(Liveness.Offline, view.Liveness);
    }

    [Fact]
    public async Task The_client_app_registers_its_user_and_logs_its_own_usage_with_the_key_it_was_given()
    {
        var ada = Http.NewId("seed-ada");
        var bob = Http.NewId("seed-bob");
        var workerId = Http.NewId("seed-served");
        await WorkerApiTests.Register(_app, workerId);

        var created = await _app.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{ada}}", "display_name": "Ada"}""")).Expect(HttpStatusCode.Created);
        var key = created.Str("api_key");
        Assert.StartsWith($"rgu_{ada}.", key);
        var bobKey = (await _app.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{bob}}"}""")).Expect(HttpStatusCode.Created)).Str("api_key");
        // Shown once: registering again (the app does on every start) returns the user without a key.
        var again = await _app.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{ada}}", "display_name": "Impostor"}""")).Expect();
        Assert.Equal(("Ada", JsonValueKind.Null), (again.Str("display_name"), again.GetProperty("api_key").ValueKind));

        using var asAda = silo.WithBearer(key);
        var logged = await asAda.PostAsync("/api/usage/log", Http.Json($$"""{"user_id": "{{ada}}", "prompt_tokens": 12, "completion_tokens": 30, "worker_ids": ["{{workerId}}"]}""")).Expect(HttpStatusCode.Created);
        Assert.Equal(ada, logged.Str("user_id"));
        var recent = await _app.GetAsync("/api/usage/recent?limit=15").Expect();
        Assert.Contains(recent.EnumerateArray(), e => e.Str("user_id") == ada && e.Long("completion_tokens") == 30);

        // Ada's key acts only for Ada; no key, a worker's token or a made-up key acts for nobody.
        var forBob = $$"""{"user_id": "{{bob}}", "prompt_tokens": 1, "completion_tokens": 1}""";
        Assert.Contains(ada, await asAda.PostAsync("/api/usage/log", Http.Json(forBob)).Problem(403, "user_id"));
        await _app.PostAsync("/api/usage/log", Http.Json(forBob)).Problem(401, "Authorization");
        using var forged = silo.WithBearer($"rgu_{bob}.not-the-secret");
        await forged.PostAsync("/api/usage/log", Http.Json(forBob)).Problem(401, "Authorization");
        using var generating = silo.WithBearer(key);
        Assert.Contains(ada, await generating.PostAsync("/api/inference/generate",
            Http.Json($$"""{"user_id": "{{bob}}", "prompt_tokens": [1], "max_new_tokens": 1}""")).Problem(403, "user_id"));
        var bobUser = await _app.GetAsync($"/api/users/{bob}").Expect();
        Assert.Equal(0L, bobUser.Long("total_requests"));
        var adaUser = await _app.GetAsync($"/api/users/{ada}").Expect();
        Assert.Equal((1L, 12L, 30L), (adaUser.Long("total_requests"), adaUser.Long("total_prompt_tokens"), adaUser.Long("total_completion_tokens")));

        // An operator re-issues a lost key; the old one stops working.
        var reissued = (await _admin.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{ada}}"}""")).Expect()).Str("api_key");
        Assert.NotEqual(key, reissued);
        await asAda.PostAsync("/api/usage/log", Http.Json($$"""{"user_id": "{{ada}}", "prompt_tokens": 1, "completion_tokens": 1}""")).Problem(401, "Authorization");
        using var renewed = silo.WithBearer(reissued);
        await renewed.PostAsync("/api/usage/log", Http.Json($$"""{"user_id": "{{ada}}", "prompt_tokens": 1, "completion_tokens": 1}""")).Expect(HttpStatusCode.Created);
        Assert.NotEqual(bobKey, reissued);
    }

    [Fact]
    public async Task The_dashboard_link_redirects_to_the_dashboard()
    {
        using var browser = silo.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        foreach (var path in new[] { "/dashboard", "/api/dashboard" })
        {
            using var response = await browser.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal("/", response.Headers.Location?.OriginalString);
        }
    }
}
