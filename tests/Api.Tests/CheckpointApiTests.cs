using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Regatta.Grains.Models;
using Regatta.Learning.Weights;
using Regatta.Runs;
using Regatta.Tests;

namespace Regatta.Api.Tests;

/// <summary>A run's checkpoints leave as safetensors (+ config) through REST, and the run rolls back to one of them.</summary>
[Collection(KestrelCollection.Name)]
public sealed class CheckpointApiTests(KestrelApiSilo silo)
{
    [Fact]
    public async Task A_checkpoint_downloads_as_safetensors_with_its_config_and_the_run_restores_to_a_chosen_one()
    {
        var runId = Http.NewId("ckpt");
        using var admin = silo.Admin();
        using var anonymous = silo.Anonymous();
        await admin.PostAsync($"/api/runs?id={runId}", Http.Yaml(RunSpecYaml.Write(Specs.Quick(rounds: 2) with { Name = "checkpoints" }))).Expect(HttpStatusCode.Created);
        await admin.PostAsync($"/api/runs/{runId}/start", null).Expect();
        await TrainWithTwoWorkers(runId);
        var view = await silo.Grains.GetGrain<IRunGrain>(runId).GetView();
        Assert.Equal([1, 2], view.Checkpoints.Select(c => c.Round));

        // The weights: exactly the stored checkpoint's tensors, names and values.
        var url = $"/api/runs/{runId}/checkpoints/1/model.safetensors";
        await anonymous.GetAsync(url).Problem(401, "Authorization");
        var response = await admin.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"{runId}-round1.safetensors", response.Content.Headers.ContentDisposition?.FileNameStar ?? response.Content.Headers.ContentDisposition?.FileName);
        var stored = ModelWeights.FromBytes(await silo.Services.GetRequiredService<IBlobStore>().ReadAllAsync(view.Checkpoints[0].ModelHash));
        var downloaded = SafetensorsWeights.Read(await response.Content.ReadAsStreamAsync(), stored);
        Assert.Equal(stored.Tensors.Select(t => t.Name), downloaded.Tensors.Select(t => t.Name));
        Assert.Equal(stored.Flatten(), downloaded.Flatten());
        Assert.NotEqual(stored.Flatten(), ModelWeights.FromBytes(await silo.Services.GetRequiredService<IBlobStore>().ReadAllAsync(view.Checkpoints[1].ModelHash)).Flatten());

        // The config: which model the weights fit and where they came from.
        var config = await admin.GetAsync($"/api/runs/{runId}/checkpoints/1/config.json").Expect();
        Assert.Equal((runId, 1, view.Checkpoints[0].ModelHash), (config.Str("run"), config.Int("round"), config.Str("model_hash")));
        Assert.Equal(view.Spec.Model.Name, config.GetProperty("model").Str("name"));
        Assert.Equal(stored.Tensors.Select(t => t.Name), config.GetProperty("tensors").EnumerateArray().Select(t => t.Str("name")));
        Assert.Contains("rounds 1, 2", await admin.GetAsync($"/api/runs/{runId}/checkpoints/7/model.safetensors").Problem(404, "round"));
        await admin.GetAsync($"/api/runs/{Http.NewId("ghost")}/checkpoints/1/config.json").Problem(404, "id");

        // Restore: refused for a round without a checkpoint (nothing changes), then back to round 1.
        await anonymous.PostAsync($"/api/runs/{runId}/restore?round=1", null).Problem(401, "Authorization");
        await admin.PostAsync($"/api/runs/{runId}/restore?round=0", null).Problem(400, "round");
        Assert.Contains("round 5", await admin.PostAsync($"/api/runs/{runId}/restore?round=5", null).Problem(409, "checkpoints"));
        Assert.Equal("finished", (await anonymous.GetAsync($"/api/runs/{runId}").Expect()).Str("state"));
        var restored = await admin.PostAsync($"/api/runs/{runId}/restore?round=1", null).Expect();
        Assert.Equal(("waitingForMembers", 1), (restored.Str("state"), restored.Int("committedRounds")));
        Assert.Equal([1], restored.GetProperty("checkpoints").EnumerateArray().Select(c => c.Int("round")));
    }

    private async Task TrainWithTwoWorkers(string runId)
    {
        using var anonymous = silo.Anonymous();
        using var admin = silo.Admin();
        var workers = new List<ScriptedWorker>();
        try
        {
            foreach (var id in new[] { Http.NewId("ckpt-a"), Http.NewId("ckpt-b") })
            {
                await WorkerApiTests.Register(anonymous, id);
                await admin.PostAsync($"/api/workers/{id}/approve", null).Expect();
                await silo.Grains.GetGrain<IRunGrain>(runId).Join(id, null);
                var worker = new ScriptedWorker(silo.Grains, id);
                worker.Start();
                workers.Add(worker);
            }
            var run = silo.Grains.GetGrain<IRunGrain>(runId);
            await Eventually.Until(run.GetView, v => v.State == RunState.Finished, TimeSpan.FromSeconds(120), "the run finishes");
        }
        finally
        {
            foreach (var worker in workers) await worker.DisposeAsync();
        }
    }
}
