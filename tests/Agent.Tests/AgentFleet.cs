using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Regatta.WorkerAgent;

namespace Regatta.Tests;

/// <summary>Real worker agents (each its own Orleans client and TorchSharp trainer) against a test cluster.</summary>
public sealed class AgentFleet(RegattaCluster cluster) : IAsyncDisposable
{
    private readonly List<RunningAgent> _agents = [];

    /// <summary>The test cluster's gateway, exactly as the silo advertises it.</summary>
    public System.Net.IPEndPoint Gateway => cluster.Cluster.Primary!.GatewayAddress!.Endpoint;

    public async Task<RunningAgent> StartAsync(string id, string? runId, string? joinToken, string? poison = null,
        long? serveMemoryBytes = null, TimeSpan serveDelay = default, long? sessionMemoryBytes = null, Action<string, float[]>? secAggObserver = null)
    {
        var options = new AgentOptions
        {
            Coordinator = $"{Gateway.Address}:{Gateway.Port}",
            Name = id,
            WorkerId = id,
            Device = "cpu",
            RunId = runId,
            JoinToken = joinToken,
            Heartbeat = TimeSpan.FromMilliseconds(500),
            CacheDir = Path.Combine(cluster.DataDir, "agents", id),
            Poison = poison,
            ServeMemoryBytes = serveMemoryBytes,
            ServeDelay = serveDelay,
            SessionMemoryBytes = sessionMemoryBytes,
            SiloCertSha256 = cluster.CertificateSha256,
            SecAggInputObserver = secAggObserver,
        };
        var host = AgentHost.Build(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await host.StartAsync();
        var session = new WorkerSession(options, host.Services.GetRequiredService<IClusterClient>(), host.Services.GetRequiredService<ILoggerFactory>(),
            host.Services.GetRequiredService<WorkerCredential>());
        var agent = new RunningAgent(id, host, session);
        _agents.Add(agent);
        return agent;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents) await agent.StopAsync();
    }

    [ModuleInitializer]
    internal static void OneTorchThread() =>
        // Several agents and a silo share two cores in one process: one intra-op thread each keeps them from thrashing.
        TorchSharp.torch.set_num_threads(1);
}

public sealed class RunningAgent
{
    private readonly CancellationTokenSource _stop = new();
    private readonly IHost _host;
    private readonly Task _loop;

    public RunningAgent(string id, IHost host, WorkerSession session)
    {
        Id = id;
        _host = host;
        Session = session;
        _loop = Task.Run(() => session.RunAsync(_stop.Token));
    }

    public string Id { get; }
    public WorkerSession Session { get; }
    public bool Stopped { get; private set; }

    /// <summary>Ctrl+C: the agent unregisters and exits.</summary>
    public async Task StopAsync()
    {
        if (Stopped) return;
        Stopped = true;
        await _stop.CancelAsync();
        try { await _loop; } catch (OperationCanceledException) { }
        await _host.StopAsync();
        _host.Dispose();
    }

    /// <summary>The process dies: its connection drops with no goodbye.</summary>
    public async Task KillAsync()
    {
        if (Stopped) return;
        Stopped = true;
        await _host.StopAsync(new CancellationToken(canceled: true));
        _host.Dispose();
        await _stop.CancelAsync();
        try { await _loop; } catch (Exception) { /* a dead agent's loop ends however it ends */ }
    }
}
