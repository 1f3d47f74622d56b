using System.Net;
using Regatta.Network;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Api.Tests;

/// <summary>Every operator endpoint refuses a missing or wrong admin key, on targets that exist, and changes nothing.</summary>
[Collection(ApiCollection.Name)]
public sealed class AuthTests(ApiSilo silo)
{
    public static TheoryData<string, string> AdminEndpoints() => new()
    {
        { "POST", "/api/runs?id={run}-new" },
        { "POST", "/api/runs/{run}/start" },
        { "POST", "/api/runs/{run}/pause" },
        { "POST", "/api/runs/{run}/resume" },
        { "POST", "/api/runs/{run}/cancel" },
        { "POST", "/api/workers/{worker}/approve" },
        { "POST", "/api/workers/{worker}/reject" },
        { "DELETE", "/api/workers/{worker}" },
        { "PUT", "/api/network/quantization?mode=nf4" },
        { "PUT", "/api/network/target-workers?count=42" },
        { "POST", "/api/usage/log" },
        { "POST", "/api/reports" },
    };

    [Theory]
    [MemberData(nameof(AdminEndpoints))]
    public async Task Operator_endpoints_need_the_admin_key(string method, string template)
    {
        using var admin = silo.Admin();
        var run = Http.NewId("auth-run");
        var worker = Http.NewId("auth-worker");
        var user = Http.NewId("auth-user");
        await admin.PostAsync($"/api/runs?id={run}", Http.Yaml("name: auth\nmodel: { name: mlp, parameters: { inputs: 4, hidden: 8, classes: 2 } }\n")).Expect(HttpStatusCode.Created);
        using var registrar = silo.Anonymous();
        var workerToken = await WorkerApiTests.Register(registrar, worker);
        var path = template.Replace("{run}", run).Replace("{worker}", worker);
        HttpContent? Body() => path switch
        {
            _ when path.StartsWith("/api/runs?", StringComparison.Ordinal) => Http.Yaml("name: auth\nmodel: { name: mlp, parameters: { inputs: 4, hidden: 8, classes: 2 } }\n"),
            "/api/usage/log" => Http.Json($$"""{"user_id": "{{user}}", "prompt_tokens": 1, "completion_tokens": 1}"""),
            "/api/reports" => Http.Json($$"""{"runId": "{{run}}", "severity": "info", "message": "hello"}"""),
            _ => null,
        };
        var settings = await silo.Grains.GetGrain<INetworkSettingsGrain>(0).Get();

        using var anonymous = silo.Anonymous();
        using var wrong = silo.WithBearer("wrong-key-0123456789");
        using var workerOnly = silo.WithBearer(workerToken);
        foreach (var client in new[] { anonymous, wrong, workerOnly })
        {
            if (client == workerOnly && method == "DELETE") continue; // a worker may unregister itself
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = Body() };
            await client.SendAsync(request).Problem(401, "Authorization");
        }

        Assert.Equal(RunState.Created, (await silo.Grains.GetGrain<IRunGrain>(run).GetView()).State);
        Assert.Equal("", (await silo.Grains.GetGrain<IRunGrain>(run + "-new").GetView()).RunId);
        Assert.Empty(await silo.Grains.GetGrain<IRunGrain>(run).GetReports());
        var view = await silo.Grains.GetGrain<IWorkerOperatorGrain>(worker).GetView();
        Assert.Equal((ApprovalStatus.Pending, Liveness.Online), (view.Approval, view.Liveness));
        Assert.Null(await silo.Grains.GetGrain<IUserGrain>(user).Get());
        Assert.Equal(settings, await silo.Grains.GetGrain<INetworkSettingsGrain>(0).Get());
    }
}
