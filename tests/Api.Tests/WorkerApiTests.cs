using System.Net;
using System.Text.Json;
using Regatta.Workers;

namespace Regatta.Api.Tests;

/// <summary>/api/workers: the seed's register / heartbeat / unregister protocol with worker tokens, and operator actions.</summary>
[Collection(ApiCollection.Name)]
public sealed class WorkerApiTests(ApiSilo silo)
{
    private readonly HttpClient _admin = silo.Admin();
    private readonly HttpClient _anonymous = silo.Anonymous();

    public static string Registration(string id, string extra = "") =>
        $$"""{"worker_id": "{{id}}", "nickname": "box {{id}}", "hardware_type": "cuda", "device_name": "RTX 4090", "vram_gb": 24{{extra}}}""";

    /// <summary>Registers a worker over HTTP and returns its token.</summary>
    public static async Task<string> Register(HttpClient client, string id)
    {
        var reply = await client.PostAsync("/api/workers/register", Http.Json(Registration(id))).Expect();
        return reply.Str("worker_token");
    }

    [Fact]
    public async Task Registration_answers_with_the_seed_fields_and_a_token_and_the_worker_waits_as_pending()
    {
        var id = Http.NewId("reg");
        var reply = await _anonymous.PostAsync("/api/workers/register", Http.Json(Registration(id, """, "requested_layers": 4, "cpu_cores": 8"""))).Expect();

        Assert.Equal(id, reply.Str("worker_id"));
        Assert.Equal("pending", reply.Str("status"));
        Assert.True(reply.GetProperty("is_idle").GetBoolean());
        Assert.Equal(JsonValueKind.Null, reply.GetProperty("layers_start").ValueKind);
        Assert.Equal("transformer", reply.Str("model_name"));
        Assert.Contains($"127.0.0.1:{silo.GatewayPort}", reply.GetProperty("initial_peers").EnumerateArray().Select(p => p.GetString()));
        Assert.True(reply.Str("worker_token").Length >= 40);
        var view = await silo.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView();
        Assert.Equal((ApprovalStatus.Pending, "cuda", 24L << 30, 8), (view.Approval, view.Hardware.DeviceKind, view.Hardware.VramBytes, view.Hardware.CpuCores));
    }

    [Fact]
    public async Task Bad_registrations_name_every_field_at_fault_and_register_nothing()
    {
        var id = Http.NewId("badreg");
        var message = await _anonymous.PostAsync("/api/workers/register", Http.Json("""
            {"worker_id": "no spaces allowed", "nickname": "", "hardware_type": "tpu", "vram_gb": -1, "cpu_cores": 0, "requested_layers": 99}
            """)).Problem(400, "worker_id");
        Assert.Contains("A-Z", message);
        var response = await _anonymous.PostAsync("/api/workers/register", Http.Json($$"""{"worker_id": "{{id}}", "hardware_type": "tpu", "vram_gb": -1, "cpu_cores": 0, "requested_layers": 99}"""));
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
        Assert.Equal(["nickname", "hardware_type", "vram_gb", "cpu_cores", "requested_layers"], problem.EnumerateObject().Select(p => p.Name));
        Assert.Contains("8 blocks", problem.GetProperty("requested_layers")[0].GetString());

        Assert.Contains("unknown field", await _anonymous.PostAsync("/api/workers/register", Http.Json(Registration(id, """, "gpu": "big" """))).Problem(400, "gpu"));
        Assert.Contains("number", await _anonymous.PostAsync("/api/workers/register", Http.Json(Registration(id).Replace("\"vram_gb\": 24", "\"vram_gb\": \"lots\""))).Problem(400, "vram_gb"));
        Assert.Contains("string", await _anonymous.PostAsync("/api/workers/register", Http.Json($$"""{"worker_id": 7}""")).Problem(400, "worker_id"));
        Assert.Contains("malformed", await _anonymous.PostAsync("/api/workers/register", Http.Json("{worker_id:")).Problem(400, "body"));
        Assert.Contains("required", await _anonymous.PostAsync("/api/workers/register", Http.Json("")).Problem(400, "body"));
        Assert.Contains("application/json", await _anonymous.PostAsync("/api/workers/register", new StringContent(Registration(id))).Problem(415, "Content-Type"));
        Assert.Contains("limit", await _anonymous.PostAsync("/api/workers/register", Http.Json(Registration(id, $", \"device_name\": \"{new string('x', 1_100_000)}\""))).Problem(413, "body"));

        Assert.Equal(ApprovalStatus.Unregistered, (await silo.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView()).Approval);
    }

    [Fact]
    public async Task A_known_id_registers_again_only_with_its_token_or_the_admin_key()
    {
        var id = Http.NewId("again");
        var token = await Register(_anonymous, id);

        Assert.Contains("already registered", await _anonymous.PostAsync("/api/workers/register", Http.Json(Registration(id).Replace("box", "hijack"))).Problem(409, "worker_id"));
        using var stranger = silo.WithBearer("someone-elses-token");
        Assert.Contains("already registered", await stranger.PostAsync("/api/workers/register", Http.Json(Registration(id).Replace("box", "hijack"))).Problem(409, "worker_id"));
        Assert.Equal($"box {id}", (await silo.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView()).Name);

        using var owner = silo.WithBearer(token);
        var again = await owner.PostAsync("/api/workers/register", Http.Json(Registration(id).Replace("box", "renamed"))).Expect();
        Assert.Equal(token, again.Str("worker_token"));
        Assert.Equal($"renamed {id}", (await silo.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView()).Name);

        var reissued = await _admin.PostAsync("/api/workers/register", Http.Json(Registration(id))).Expect();
        Assert.NotEqual(token, reissued.Str("worker_token"));
        Assert.Contains("not the worker token", await owner.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}"}""")).Problem(401, "Authorization"));
        using var renewed = silo.WithBearer(reissued.Str("worker_token"));
        await renewed.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}"}""")).Expect();
    }

    [Fact]
    public async Task Heartbeats_need_the_workers_own_token_and_valid_values()
    {
        var id = Http.NewId("beat");
        var other = Http.NewId("beat-other");
        var token = await Register(_anonymous, id);
        var otherToken = await Register(_anonymous, other);
        using var worker = silo.WithBearer(token);
        using var impostor = silo.WithBearer(otherToken);

        var reply = await worker.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}", "tokens_served_since_last": 120, "status": "busy"}""")).Expect();
        Assert.Equal(("pending", "pending", "busy", 1.0), (reply.Str("worker_status"), reply.Str("status"), reply.Str("reported_status"), reply.GetProperty("next_heartbeat_seconds").GetDouble()));

        var body = $$"""{"worker_id": "{{id}}", "tokens_served_since_last": 5}""";
        Assert.Contains("missing", await _anonymous.PostAsync("/api/workers/heartbeat", Http.Json(body)).Problem(401, "Authorization"));
        Assert.Contains("not the worker token", await impostor.PostAsync("/api/workers/heartbeat", Http.Json(body)).Problem(401, "Authorization"));
        Assert.Contains("not the worker token", await _admin.PostAsync("/api/workers/heartbeat", Http.Json(body)).Problem(401, "Authorization"));
        Assert.Contains("[0, 10000000]", await worker.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}", "tokens_served_since_last": -3}""")).Problem(400, "tokens_served_since_last"));
        Assert.Contains("1 to 32", await worker.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}", "status": "{{new string('z', 33)}}"}""")).Problem(400, "status"));
        Assert.Contains("string", await worker.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}", "status": 3}""")).Problem(400, "status"));
        Assert.Contains("whole number", await worker.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}", "tokens_served_since_last": "many"}""")).Problem(400, "tokens_served_since_last"));
        Assert.Contains("unknown field", await worker.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}", "tokens": 1}""")).Problem(400, "tokens"));
        Assert.Contains("required", await worker.PostAsync("/api/workers/heartbeat", Http.Json("{}")).Problem(400, "worker_id"));

        var view = await silo.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView();
        Assert.Equal((120L, Liveness.Busy), (view.TokensServed, view.Liveness));
    }

    [Fact]
    public async Task Operators_approve_and_reject_with_the_admin_key_and_states_are_enforced()
    {
        var id = Http.NewId("ops");
        var token = await Register(_anonymous, id);

        Assert.Contains("missing", await _anonymous.PostAsync($"/api/workers/{id}/approve", null).Problem(401, "Authorization"));
        using var worker = silo.WithBearer(token);
        Assert.Contains("admin API key", await worker.PostAsync($"/api/workers/{id}/approve", null).Problem(401, "Authorization"));
        Assert.Equal(ApprovalStatus.Pending, (await silo.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView()).Approval);

        var approved = await _admin.PostAsync($"/api/workers/{id}/approve", null).Expect();
        Assert.Equal(("approved", "standby"), (approved.Str("approval"), approved.Str("status")));
        Assert.Contains("already approved", await _admin.PostAsync($"/api/workers/{id}/approve", null).Problem(409, "approval"));

        Assert.Contains("1 to 500", await _admin.PostAsync($"/api/workers/{id}/reject", Http.Json($$"""{"reason": "{{new string('r', 501)}}"}""")).Problem(400, "reason"));
        Assert.Equal(ApprovalStatus.Approved, (await silo.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView()).Approval);
        var rejected = await _admin.PostAsync($"/api/workers/{id}/reject", Http.Json("""{"reason": "untrusted"}""")).Expect();
        Assert.Equal(("rejected", "untrusted"), (rejected.Str("status"), rejected.Str("reject_reason")));
        Assert.Contains("already rejected", await _admin.PostAsync($"/api/workers/{id}/reject", null).Problem(409, "approval"));
        Assert.Contains("rejected", await worker.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{id}}"}""")).Problem(409, "approval"));

        var unknown = Http.NewId("nobody");
        Assert.Contains("not registered", await _admin.PostAsync($"/api/workers/{unknown}/approve", null).Problem(404, "id"));
        Assert.Contains("not registered", await _admin.PostAsync($"/api/workers/{unknown}/reject", null).Problem(404, "id"));
        Assert.Contains("characters", await _admin.PostAsync("/api/workers/-x/approve", null).Problem(400, "id"));
        Assert.Equal(ApprovalStatus.Unregistered, (await silo.Grains.GetGrain<IWorkerOperatorGrain>(unknown).GetView()).Approval);
    }

    [Fact]
    public async Task Unregistering_needs_the_workers_token_or_the_admin_key()
    {
        var id = Http.NewId("bye");
        var token = await Register(_anonymous, id);
        var other = Http.NewId("bye-other");
        using var impostor = silo.WithBearer(await Register(_anonymous, other));

        Assert.Contains("missing", await _anonymous.DeleteAsync($"/api/workers/{id}").Problem(401, "Authorization"));
        Assert.Contains("not the admin API key or the worker token", await impostor.DeleteAsync($"/api/workers/{id}").Problem(401, "Authorization"));
        Assert.Equal(Liveness.Online, (await silo.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView()).Liveness);

        using var worker = silo.WithBearer(token);
        await worker.DeleteAsync($"/api/workers/{id}").Expect(HttpStatusCode.NoContent);
        Assert.Equal(Liveness.Offline, (await silo.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView()).Liveness);
        await _admin.DeleteAsync($"/api/workers/{other}").Expect(HttpStatusCode.NoContent);

        Assert.Contains("not registered", await _admin.DeleteAsync($"/api/workers/{Http.NewId("nobody")}").Problem(404, "id"));
        Assert.Contains("characters", await _admin.DeleteAsync("/api/workers/a%2Fb").Problem(400, "id"));
    }

    [Fact]
    public async Task Listing_filters_by_approval_and_refuses_bad_queries()
    {
        var pending = Http.NewId("list-p");
        var approved = Http.NewId("list-a");
        await Register(_anonymous, pending);
        await Register(_anonymous, approved);
        await _admin.PostAsync($"/api/workers/{approved}/approve", null).Expect();

        var onlyApproved = await _anonymous.GetAsync("/api/workers?approval=approved&take=500").Expect();
        var ids = onlyApproved.GetProperty("items").EnumerateArray().Select(w => w.Str("worker_id")).ToList();
        Assert.Contains(approved, ids);
        Assert.DoesNotContain(pending, ids);
        var all = await _anonymous.GetAsync("/api/workers?take=500").Expect();
        var mine = all.GetProperty("items").EnumerateArray().Single(w => w.Str("worker_id") == pending);
        Assert.Equal(("box " + pending, "cuda", "RTX 4090", 24.0), (mine.Str("nickname"), mine.Str("hardware_type"), mine.Str("device_name"), mine.GetProperty("vram_gb").GetDouble()));

        Assert.Contains("pending, approved or rejected", await _anonymous.GetAsync("/api/workers?approval=maybe").Problem(400, "approval"));
        Assert.Contains("[1, 500]", await _anonymous.GetAsync("/api/workers?take=9999").Problem(400, "take"));
    }
}
