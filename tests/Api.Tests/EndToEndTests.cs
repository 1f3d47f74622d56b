using System.Net;
using System.Text.Json;
using Regatta.Runs;
using Regatta.Tests;

namespace Regatta.Api.Tests;

[Collection(ApiCollection.Name)]
public sealed class EndToEndTests(ApiSilo silo)
{
    [Fact]
    public async Task A_run_submitted_as_yaml_over_http_is_started_trained_by_two_workers_and_read_back()
    {
        using var admin = silo.Admin();
        using var anonymous = silo.Anonymous();
        var runId = Http.NewId("e2e");
        var yaml = RunSpecYaml.Write(Specs.Quick(rounds: 2) with { Name = "e2e over http" });
        await admin.PostAsync($"/api/runs?id={runId}", Http.Yaml(yaml)).Expect(HttpStatusCode.Created);
        Assert.Equal("waitingForMembers", (await admin.PostAsync($"/api/runs/{runId}/start", null).Expect()).Str("state"));

        var workers = new List<ScriptedWorker>();
        try
        {
            foreach (var id in new[] { Http.NewId("e2e-a"), Http.NewId("e2e-b") })
            {
                await WorkerApiTests.Register(anonymous, id);
                await admin.PostAsync($"/api/workers/{id}/approve", null).Expect();
                // Joining is part of the agent's Orleans protocol; the scripted worker then takes and completes its jobs.
                await silo.Grains.GetGrain<IRunGrain>(runId).Join(id, null);
                var worker = new ScriptedWorker(silo.Grains, id);
                worker.Start();
                workers.Add(worker);
            }

            var finished = await Eventually.Until(() => anonymous.GetAsync($"/api/runs/{runId}").Expect(),
                run => run.Str("state") is "finished" or "failed" or "cancelled", TimeSpan.FromSeconds(90), "the run ends");
            Assert.Equal("finished", finished.Str("state"));
            Assert.Equal(2, finished.Int("committedRounds"));
            Assert.Equal(workers.Select(w => w.WorkerId).Order(), finished.GetProperty("members").EnumerateArray().Select(m => m.Str("workerId")).Order());
        }
        finally
        {
            foreach (var worker in workers) await worker.DisposeAsync();
        }

        var rounds = await anonymous.GetAsync($"/api/runs/{runId}/rounds").Expect();
        Assert.Equal([1, 2], rounds.EnumerateArray().Select(r => r.Int("round")));
        Assert.All(rounds.EnumerateArray(), r => Assert.Equal(2, r.Int("updatesAccepted")));
        Assert.All(rounds.EnumerateArray(), r => Assert.Equal(JsonValueKind.Number, r.GetProperty("validationAccuracy").ValueKind));

        var metrics = await anonymous.GetAsync($"/api/runs/{runId}/metrics").Expect();
        Assert.Equal(2, metrics.GetProperty("rounds").GetArrayLength());
        Assert.Equal(JsonValueKind.Number, metrics.GetProperty("accuracy").ValueKind);

        var jobs = await anonymous.GetAsync($"/api/runs/{runId}/jobs?take=100").Expect();
        var items = jobs.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(jobs.Int("total"), items.Count);
        Assert.All(items, j => Assert.Equal(("closed", "success"), (j.Str("status"), j.Str("result"))));
        // 2 rounds × (2 train + 1 witness), besides the jobs that bring members in (kit, echo).
        Assert.Equal(4, items.Count(j => j.Str("kind") == "train"));
        Assert.Equal(2, items.Count(j => j.Str("kind") == "witness"));
        var page = await anonymous.GetAsync($"/api/runs/{runId}/jobs?skip={items.Count - 2}&take=10").Expect();
        Assert.Equal(items.TakeLast(2).Select(j => j.Str("jobId")), page.GetProperty("items").EnumerateArray().Select(j => j.Str("jobId")));

        var listed = await anonymous.GetAsync("/api/runs?take=500").Expect();
        Assert.Equal("finished", listed.GetProperty("items").EnumerateArray().Single(r => r.Str("runId") == runId).Str("state"));
    }
}
