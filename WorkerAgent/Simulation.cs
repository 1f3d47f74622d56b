using Microsoft.Extensions.Logging;

namespace Regatta.WorkerAgent;

/// <summary>What <c>simulate</c> was told: how many virtual clients, for which run, computing how many at once.</summary>
public sealed record SimulationOptions
{
    public const int MaxClients = 10_000;

    public required string RunId { get; init; }
    public required int Clients { get; init; }
    /// <summary>Virtual clients computing (training, witnessing) at once; the rest wait their turn.</summary>
    public int Concurrency { get; init; } = Environment.ProcessorCount;
    /// <summary>Worker ids are <c>{Prefix}-0001</c>, <c>{Prefix}-0002</c>, ...</summary>
    public string Prefix { get; init; } = "sim";

    /// <summary>The first problem with these options, naming the flag; null when there is none.</summary>
    public string? Problem()
    {
        if (!Ids.IsValid(RunId)) return $"--run '{RunId}': not a valid run id";
        if (Clients is < 1 or > MaxClients) return $"--clients must be in [1, {MaxClients}]";
        if (Concurrency is < 1 or > 1024) return "--concurrency must be in [1, 1024]";
        if (!Ids.IsValid($"{Prefix}-{MaxClients:D4}")) return $"--prefix '{Prefix}': worker ids '{Prefix}-0001'... would not be valid ids";
        return null;
    }
}

/// <summary>
/// A federation on one machine: N virtual clients in this process, each a <see cref="WorkerSession"/> that registers,
/// joins the run, trains its partition and reports through the same grain calls as a real agent, all over one Orleans
/// client and one TorchSharp runtime; at most <see cref="SimulationOptions.Concurrency"/> of them compute at a time.
/// How a strategy is tried on 100 or 1,000 clients before machines are rented.
/// </summary>
public static class Simulation
{
    /// <summary>
    /// Runs the clients until <paramref name="until"/> completes (the run ended) or <paramref name="ct"/> is cancelled,
    /// then stops them all; each unregisters on its way out.
    /// </summary>
    /// <param name="template">Options every client shares; each gets its own worker id, name and cache folder under its CacheDir.</param>
    public static async Task RunAsync(AgentOptions template, SimulationOptions simulation, IClusterClient client, ILoggerFactory loggers,
        Func<CancellationToken, Task> until, CancellationToken ct)
    {
        var logger = loggers.CreateLogger("simulation");
        using var compute = new SemaphoreSlim(simulation.Concurrency);
        using var partitions = new SharedPartitions();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var clients = Enumerable.Range(1, simulation.Clients).Select(i =>
        {
            var id = $"{simulation.Prefix}-{i:D4}";
            var options = template with
            {
                WorkerId = id,
                Name = id,
                RunId = simulation.RunId,
                CacheDir = Path.Combine(template.CacheDir, id),
                ServeMemoryBytes = 0, // virtual clients train; they serve no model blocks
            };
            var credential = new WorkerCredential(id, options.CacheDir);
            return (Credential: credential, Session: new WorkerSession(options, client, loggers, credential, compute, partitions));
        }).ToList();
        logger.LogInformation("Simulating {Clients} clients for run {RunId}, {Concurrency} computing at once", simulation.Clients, simulation.RunId,
            simulation.Concurrency);
        // Each client's calls carry its own credential: the stamp reads it from the client's async flow.
        var running = clients.Select(c => Task.Run(async () =>
        {
            WorkerCredentialStamp.Acting.Value = c.Credential;
            await c.Session.RunAsync(stop.Token);
        }, CancellationToken.None)).ToList();
        try
        {
            await until(stop.Token);
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await Task.WhenAll(running);
            }
            catch (Exception e) when (e is OperationCanceledException or RegattaException)
            {
                logger.LogWarning("A simulated client ended with: {Error}", e.Message);
            }
            logger.LogInformation("Simulation of run {RunId} stopped: {Jobs} jobs done by {Clients} clients", simulation.RunId,
                clients.Sum(c => c.Session.JobsDone), simulation.Clients);
        }
    }
}
