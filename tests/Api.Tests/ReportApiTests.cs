using System.Net;
using Regatta.Runs;

namespace Regatta.Api.Tests;

/// <summary>POST /api/reports: errors and status from agents (their token) and from the central provisioner (admin key).</summary>
[Collection(ApiCollection.Name)]
public sealed class ReportApiTests(ApiSilo silo)
{
    private readonly HttpClient _admin = silo.Admin();
    private readonly HttpClient _anonymous = silo.Anonymous();

    private async Task<string> NewRun()
    {
        var id = Http.NewId("reported");
        await _admin.PostAsync($"/api/runs?id={id}", Http.Yaml("name: reported\nmodel: { name: mlp, parameters: { inputs: 4, hidden: 8, classes: 2 } }\n"))
            .Expect(HttpStatusCode.Created);
        return id;
    }

    [Fact]
    public async Task The_provisioner_and_an_agent_report_and_the_run_keeps_both()
    {
        var run = await NewRun();
        var worker = Http.NewId("edge");
        using var agent = silo.WithBearer(await WorkerApiTests.Register(_anonymous, worker));

        await _admin.PostAsync("/api/reports", Http.Json($$"""{"runId": "{{run}}", "severity": "info", "message": "run kit published"}""")).Expect(HttpStatusCode.Created);
        var stored = await agent.PostAsync("/api/reports", Http.Json($$"""
            {"runId": "{{run}}", "workerId": "{{worker}}", "severity": "error", "stage": "download", "message": "kit hash mismatch"}
            """)).Expect(HttpStatusCode.Created);
        Assert.Equal((worker, "download"), (stored.Str("source"), stored.Str("stage")));

        var reports = await _anonymous.GetAsync($"/api/runs/{run}/reports").Expect();
        Assert.Equal([("central", "info", "run kit published"), (worker, "error", "kit hash mismatch")],
            reports.EnumerateArray().Select(r => (r.Str("source"), r.Str("severity"), r.Str("message"))));
    }

    [Fact]
    public async Task Bad_reports_are_refused_and_the_run_keeps_none()
    {
        var run = await NewRun();
        var worker = Http.NewId("edge-bad");
        var other = Http.NewId("edge-other");
        using var agent = silo.WithBearer(await WorkerApiTests.Register(_anonymous, worker));
        using var impostor = silo.WithBearer(await WorkerApiTests.Register(_anonymous, other));
        string Body(string severity = "error", string stage = "train", string message = "boom", string? runId = null, string? workerId = null) =>
            $$"""{"runId": "{{runId ?? run}}", "workerId": "{{workerId ?? worker}}", "severity": "{{severity}}", "stage": "{{stage}}", "message": "{{message}}"}""";

        Assert.Contains("missing", await _anonymous.PostAsync("/api/reports", Http.Json(Body())).Problem(401, "Authorization"));
        Assert.Contains("worker token", await impostor.PostAsync("/api/reports", Http.Json(Body())).Problem(401, "Authorization"));
        Assert.Contains("worker token", await agent.PostAsync("/api/reports", Http.Json($$"""{"runId": "{{run}}", "severity": "info", "message": "no worker named"}""")).Problem(401, "Authorization"));
        Assert.Contains("info, warning, error", await agent.PostAsync("/api/reports", Http.Json(Body(severity: "fatal"))).Problem(400, "severity"));
        Assert.Contains("download, train, upload", await agent.PostAsync("/api/reports", Http.Json(Body(stage: "deploy"))).Problem(400, "stage"));
        Assert.Contains("1 to 4000", await agent.PostAsync("/api/reports", Http.Json(Body(message: ""))).Problem(400, "message"));
        Assert.Contains("1 to 4000", await agent.PostAsync("/api/reports", Http.Json(Body(message: new string('m', 4001)))).Problem(400, "message"));
        Assert.Contains("valid id", await _admin.PostAsync("/api/reports", Http.Json(Body(runId: "../etc"))).Problem(400, "runId"));
        Assert.Contains("does not exist", await agent.PostAsync("/api/reports", Http.Json(Body(runId: Http.NewId("no-run")))).Problem(404, "runId"));
        Assert.Contains("unknown field", await agent.PostAsync("/api/reports", Http.Json(Body().Replace("\"stage\"", "\"phase\""))).Problem(400, "phase"));
        Assert.Contains("string", await agent.PostAsync("/api/reports", Http.Json(Body().Replace("\"boom\"", "42"))).Problem(400, "message"));

        Assert.Empty(await silo.Grains.GetGrain<IRunGrain>(run).GetReports());
        Assert.Equal(0, (await _anonymous.GetAsync($"/api/runs/{run}/reports").Expect()).GetArrayLength());
    }
}
