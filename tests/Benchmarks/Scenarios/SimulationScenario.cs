using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Regatta.Learning.Data;
using Regatta.Learning.Models;
using Regatta.Learning.Training;
using Regatta.Learning.Weights;
using Regatta.Runs;
using Regatta.WorkerAgent;
using static TorchSharp.torch;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// <c>simulate</c>'s cost: seconds per round of N virtual clients of the demo model (Simulation: one agent host over TLS
/// through the gate, every client registering, joining, training, uploading and witnessing through its worker grain,
/// the coordinator aggregating and validating) against the same clients' training in a bare loop in one process (load
/// the global model, train the partition, average the updates by examples), with the same compute slots on both sides.
/// Per round of each side: from the first member's training to the committed model, averaged over the rounds after
/// the first (round 1 warms both sides: the JIT, the coordinator's first activations, the bare loop's first allocations).
/// </summary>
public static class SimulationScenario
{
    public static async Task<IEnumerable<BenchmarkResult>> RunAsync(int[] clientCounts, int rounds)
    {
        var results = new List<BenchmarkResult>();
        var slots = Environment.ProcessorCount;
        var threads = get_num_threads();
        set_num_threads(1); // one intra-op thread per computing client, on both sides
        try
        {
            foreach (var clients in clientCounts)
            {
                var spec = Spec(clients, rounds);
                var ours = await Simulated(spec, slots);
                var bare = BareLoop(spec, slots);
                results.Add(BenchmarkResult.Compare($"Simulation, {clients} clients of the demo model (s/round)", ours, bare, "s/round",
                    "coordination adds <= 25% (ratio <= 1.25)", r => r <= 1.25,
                    $"{rounds} rounds, the last {rounds - 1} timed, {slots} computing at once; baseline: the same partitions trained and averaged in a bare loop"));
            }
        }
        finally
        {
            set_num_threads(threads);
        }
        return results;
    }

    /// <summary>The main job's model and data (deploy/examples/digits-cnn.yaml), one partition per client, every client selected every round.</summary>
    private static RunSpec Spec(int clients, int rounds) => new()
    {
        Name = "simulation-bench",
        Model = new ModelSpec { Name = "cnn", Parameters = new() { ["channels"] = 1, ["size"] = 8, ["classes"] = 10, ["filters"] = 8 } },
        Data = new DataSpec { Source = "digits", Partitioning = "dirichlet", Alpha = 0.1, Partitions = clients, SamplesPerClient = 100, HoldOut = 0.2, ValidationSamples = 1000 },
        Training = new TrainingSpec { LocalEpochs = 2, BatchSize = 32, LearningRate = 0.2 },
        Rounds = rounds,
        MinClients = clients,
        MinUpdates = clients,
        Warmup = TimeSpan.FromMilliseconds(200),
        RoundDeadline = TimeSpan.FromMinutes(10),
        WitnessDeadline = TimeSpan.FromMinutes(5),
        ProvisionTimeout = TimeSpan.FromMinutes(10),
        Witnesses = new WitnessSpec { Count = 1, Quorum = 1, LossTolerance = 10 },
        Aggregation = new AggregationSpec { Strategy = AggregationStrategy.FedAvg, MaxUpdateNorm = 0 },
        CheckpointEvery = rounds,
        Seed = 7,
        JoinToken = "simulation-bench",
    };

    private static async Task<double> Simulated(RunSpec spec, int slots)
    {
        await using var cluster = await LoadCluster.StartAsync(clients: 1, o =>
        {
            o.TickInterval = TimeSpan.FromMilliseconds(100);
            o.HeartbeatTimeout = TimeSpan.FromMinutes(5);
        }, tls: true);
        var operatorClient = cluster.Clients[0];
        CallAs.Current = CallAs.Cluster;
        var run = operatorClient.GetGrain<IRunGrain>("simulation-bench");
        await run.Create(spec);
        await run.Start();
        var template = new AgentOptions
        {
            Coordinator = $"127.0.0.1:{cluster.GatewayPort}",
            Name = "simulation",
            WorkerId = "simulation",
            Device = "cpu",
            JoinToken = spec.JoinToken,
            Heartbeat = TimeSpan.FromSeconds(5),
            CacheDir = Directory.CreateTempSubdirectory("regatta-simulation-").FullName,
            SiloCertSha256 = cluster.CertificateSha256,
            SiloTlsName = "localhost",
        };
        try
        {
            // The load cluster's service and cluster ids are its own (an agent's are "regatta").
            using var host = AgentHost.Build(template, logging => logging.SetMinimumLevel(LogLevel.Error),
                client => client.Services.PostConfigure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = ("regatta-bench", "regatta-bench")));
            await host.StartAsync();
            await Simulation.RunAsync(template, new SimulationOptions { RunId = "simulation-bench", Clients = spec.Data.Partitions, Concurrency = slots },
                host.Services.GetRequiredService<IClusterClient>(), host.Services.GetRequiredService<ILoggerFactory>(),
                async ct =>
                {
                    CallAs.Current = CallAs.Cluster;
                    while (!(await run.GetView()).State.IsTerminal()) await Task.Delay(100, ct);
                }, CancellationToken.None);
            await host.StopAsync();
            var view = await run.GetView();
            if (view.State != RunState.Finished) throw new InvalidOperationException($"the simulated run ended {view.State}: {view.FailureReason}");
            var history = await run.GetRounds();
            return history.Skip(1).Average(r => (r.EndedAt - r.StartedAt).TotalSeconds);
        }
        finally
        {
            try { Directory.Delete(template.CacheDir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The same rounds with no coordinator: each client's local training, then a weighted average, in one process.</summary>
    private static double BareLoop(RunSpec spec, int slots)
    {
        var clients = spec.Data.Partitions;
        List<Dataset> partitions;
        using (var all = DataCatalog.Partitions(spec.Data, spec.Seed, spec.Model))
            partitions = Enumerable.Range(0, clients).Select(p =>
            {
                var (train, held) = all.Take(p);
                held.Dispose();
                return train;
            }).ToList();
        try
        {
            float[] global;
            ModelWeights layout;
            using (NewDisposeScope()) layout = WeightsIO.Read(ModelCatalog.Create(spec.Model, spec.Seed));
            global = layout.Flatten();
            var clock = new Stopwatch();
            for (var round = 1; round <= spec.Rounds; round++)
            {
                if (round == 2) clock.Start();
                var start = layout.WithValues(global);
                var updates = new float[clients][];
                Parallel.For(0, clients, new ParallelOptions { MaxDegreeOfParallelism = slots }, p =>
                {
                    using var scope = NewDisposeScope();
                    var model = ModelCatalog.Create(spec.Model, spec.Seed);
                    WeightsIO.Load(model, start);
                    LocalTrainer.Train(model, partitions[p], spec.Training, CPU, LocalTrainer.RoundSeed(spec.Seed, round, p));
                    updates[p] = WeightsIO.Read(model).Flatten();
                });
                var total = partitions.Sum(d => (double)d.Count);
                var next = new float[global.Length];
                for (var p = 0; p < clients; p++)
                {
                    var weight = (float)(partitions[p].Count / total);
                    for (var i = 0; i < next.Length; i++) next[i] += updates[p][i] * weight;
                }
                global = next;
            }
            return clock.Elapsed.TotalSeconds / (spec.Rounds - 1);
        }
        finally
        {
            foreach (var d in partitions) d.Dispose();
        }
    }
}
