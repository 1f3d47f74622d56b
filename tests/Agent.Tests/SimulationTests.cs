using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Regatta.Jobs;
using Regatta.Runs;
using Regatta.WorkerAgent;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>simulate: many virtual clients in one process, one Orleans client, through the same grain calls as real agents.</summary>
public sealed class SimulationTests
{
    [Fact]
    public async Task Fifty_simulated_clients_register_join_train_and_finish_a_run_then_all_unregister()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        const int clients = 50;
        var run = cluster.Grains.GetGrain<IRunGrain>("sim");
        await run.Create(new RunSpec
        {
            Name = "sim",
            Model = new ModelSpec { Name = "mlp", Parameters = new() { ["inputs"] = 16, ["hidden"] = 32, ["classes"] = 10 } },
            Data = new DataSpec { Source = "blobs", Partitioning = "dirichlet", Alpha = 0.3, Partitions = clients, SamplesPerClient = 60, ValidationSamples = 500 },
            Training = new TrainingSpec { LocalEpochs = 1, BatchSize = 16, LearningRate = 0.1 },
            Rounds = 3,
            MinClients = clients,
            MinUpdates = clients,
            Warmup = TimeSpan.FromMilliseconds(500),
            RoundDeadline = TimeSpan.FromMinutes(2),
            WitnessDeadline = TimeSpan.FromMinutes(1),
            Witnesses = new WitnessSpec { Count = 2, Quorum = 2, LossTolerance = 1 },
            Aggregation = new AggregationSpec { Strategy = AggregationStrategy.FedAvg, MaxUpdateNorm = 50 },
            Seed = 5,
            JoinToken = "sim-join-token",
        });
        await run.Start();
        var gateway = cluster.Cluster.Primary!.GatewayAddress!.Endpoint;
        var template = new AgentOptions
        {
            Coordinator = $"{gateway.Address}:{gateway.Port}",
            Name = "simulation",
            WorkerId = "simulation",
            Device = "cpu",
            JoinToken = "sim-join-token",
            Heartbeat = TimeSpan.FromSeconds(1),
            CacheDir = Path.Combine(cluster.DataDir, "simulation"),
            SiloCertSha256 = cluster.CertificateSha256,
        };
        using var host = AgentHost.Build(template, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await host.StartAsync();
        RunView? end = null;

        await Simulation.RunAsync(template, new SimulationOptions { RunId = "sim", Clients = clients, Concurrency = 2 },
            host.Services.GetRequiredService<IClusterClient>(), host.Services.GetRequiredService<ILoggerFactory>(),
            async ct => end = await Eventually.Until(run.GetView, v => v.State.IsTerminal(), TimeSpan.FromMinutes(5), "run ends"),
            TestContext.Current.CancellationToken);
        await host.StopAsync();

        Assert.Equal(RunState.Finished, end!.State);
        Assert.Equal(clients, end.Members.Count);
        var rounds = await run.GetRounds();
        Assert.Equal(3, rounds.Count);
        Assert.All(rounds, r => Assert.Equal(clients, r.UpdatesAccepted));
        // Every client trained as itself: one train job per client per round, each by its own worker.
        var jobs = await cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun("sim")).GetPage(0, 500);
        var trained = jobs.Items.Where(j => j.Kind == JobKind.Train).ToList();
        Assert.Equal(3 * clients, trained.Count);
        Assert.All(trained, j => Assert.Equal(JobResult.Success, j.Result));
        Assert.Equal(clients, trained.Select(j => j.WorkerId).Distinct().Count());
        // Stopping the simulation unregistered them all at once.
        foreach (var i in new[] { 1, 25, 50 })
            Assert.Equal(Liveness.Offline, (await cluster.Grains.GetGrain<IWorkerOperatorGrain>($"sim-{i:D4}").GetView()).Liveness);
    }
}
