using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Regatta.Silo.Api;

namespace Regatta.Api.Tests;

/// <summary>A silo in the default local mode: no admin key configured, and tight rate limits so they can be reached.</summary>
public sealed class LocalModeSilo : ApiSilo
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Regatta:Api:RegisterPermitsPerMinute"] = "3",
        ["Regatta:Api:HeartbeatPermitsPerMinute"] = "3",
        ["Regatta:Api:GatewaysPermitsPerMinute"] = "3",
        ["Regatta:Api:UserTokensPerMinute"] = "100",
    };
}

public sealed class LocalModeTests(LocalModeSilo silo) : IClassFixture<LocalModeSilo>
{
    [Fact]
    public async Task Without_a_configured_key_the_silo_writes_one_readable_only_by_its_owner_and_accepts_it()
    {
        var path = Path.Combine(silo.DataDir, AdminApiKey.FileName);
        Assert.True(File.Exists(path));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var key = File.ReadAllText(path).Trim();
        Assert.True(key.Length >= 40);

        using var admin = silo.WithBearer(key);
        Assert.Equal(4, (await admin.PutAsync("/api/network/target-workers?count=4", null).Expect()).Int("target_workers"));
        using var guess = silo.WithBearer(ApiSilo.AdminKey);
        Assert.Contains("not the admin API key", await guess.PutAsync("/api/network/target-workers?count=5", null).Problem(401, "Authorization"));
        Assert.Equal(4, (await admin.GetAsync("/api/network/target-workers").Expect()).Int("target_workers"));
    }

    [Fact]
    public void A_kept_key_is_reused_and_a_configured_key_wins()
    {
        var dir = Directory.CreateTempSubdirectory("regatta-key-").FullName;
        try
        {
            AdminApiKey.Resolve(null, dir, NullLogger.Instance);
            var kept = File.ReadAllText(Path.Combine(dir, AdminApiKey.FileName)).Trim();
            var again = AdminApiKey.Resolve(null, dir, NullLogger.Instance);
            Assert.True(again.Matches(kept));
            Assert.Equal(kept, File.ReadAllText(Path.Combine(dir, AdminApiKey.FileName)).Trim());

            var configured = AdminApiKey.Resolve("configured-key-0123456789", dir, NullLogger.Instance);
            Assert.True(configured.Matches("configured-key-0123456789"));
            Assert.False(configured.Matches(kept));
            Assert.False(configured.Matches(null));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Registration_is_limited_per_address_and_heartbeats_per_worker()
    {
        using var anonymous = silo.Anonymous();
        var a = Http.NewId("rate-a");
        var b = Http.NewId("rate-b");
        var tokenA = await WorkerApiTests.Register(anonymous, a);
        var tokenB = await WorkerApiTests.Register(anonymous, b);
        await WorkerApiTests.Register(anonymous, Http.NewId("rate-c"));

        var refused = Http.NewId("rate-d");
        using (var response = await anonymous.PostAsync("/api/workers/register", Http.Json(WorkerApiTests.Registration(refused))))
            Assert.True(response.Headers.RetryAfter is not null, "429 says when to retry");
        Assert.Contains("too many", await anonymous.PostAsync("/api/workers/register", Http.Json(WorkerApiTests.Registration(refused))).Problem(429, "rate"));
        using var admin = silo.WithBearer(File.ReadAllText(Path.Combine(silo.DataDir, AdminApiKey.FileName)).Trim());
        Assert.Contains("not registered", await admin.PostAsync($"/api/workers/{refused}/approve", null).Problem(404, "id"));

        using var workerA = silo.WithBearer(tokenA);
        using var workerB = silo.WithBearer(tokenB);
        for (var i = 0; i < 3; i++)
            await workerA.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{a}}", "tokens_served_since_last": 1}""")).Expect();
        Assert.Contains("worker", await workerA.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{a}}", "tokens_served_since_last": 1}""")).Problem(429, "rate"));
        await workerB.PostAsync("/api/workers/heartbeat", Http.Json($$"""{"worker_id": "{{b}}"}""")).Expect();
        Assert.Equal(3, (await silo.Grains.GetGrain<Workers.IWorkerOperatorGrain>(a).GetView()).TokensServed);
    }

    [Fact]
    public async Task The_anonymous_gateway_list_is_limited_per_address()
    {
        using var anonymous = silo.Anonymous();
        for (var i = 0; i < 3; i++)
            Assert.Single((await anonymous.GetAsync("/api/cluster/gateways").Expect()).GetProperty("gateways").EnumerateArray());
        using (var response = await anonymous.GetAsync("/api/cluster/gateways"))
            Assert.True(response.Headers.RetryAfter is not null, "429 says when to retry");
        Assert.Contains("too many", await anonymous.GetAsync("/api/cluster/gateways").Problem(429, "rate"));
    }

    [Fact]
    public async Task User_registration_is_limited_per_address_and_generation_per_user_in_tokens_per_minute()
    {
        using var anonymous = silo.Anonymous();
        var keys = new List<string>();
        for (var i = 0; i < 3; i++)
            keys.Add((await anonymous.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{Http.NewId("rate-user")}}"}""")).Expect(HttpStatusCode.Created)).Str("api_key"));
        var refused = Http.NewId("rate-user");
        Assert.Contains("too many", await anonymous.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{refused}}"}""")).Problem(429, "rate"));
        Assert.Contains("not registered", await anonymous.GetAsync($"/api/users/{refused}").Problem(404, "id"));

        var user = Grains.Security.UserKeys.UserOf(keys[0]);
        using var asUser = silo.WithBearer(keys[0]);
        string Body(int newTokens) => $$"""{"user_id": "{{user}}", "prompt_tokens": [1, 2, 3, 4], "max_new_tokens": {{newTokens}}}""";
        Assert.Contains("100 tokens per minute", await asUser.PostAsync("/api/inference/generate", Http.Json(Body(97))).Problem(400, "max_new_tokens"));
        // Asked for (4 + 60 of 100) even though no worker serves yet: the budget counts requests, not what they got.
        await asUser.PostAsync("/api/inference/generate", Http.Json(Body(60))).Problem(503, "network");
        using (var response = await asUser.PostAsync("/api/inference/generate", Http.Json(Body(60))))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            Assert.True(response.Headers.RetryAfter is not null, "429 says when to retry");
        }
        // Another user has a budget of their own.
        using var other = silo.WithBearer(keys[1]);
        var otherUser = Grains.Security.UserKeys.UserOf(keys[1]);
        await other.PostAsync("/api/inference/generate", Http.Json(Body(60).Replace(user!, otherUser!))).Problem(503, "network");
    }
}
