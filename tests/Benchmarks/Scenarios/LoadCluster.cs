using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Regatta.Grains;
using Regatta.Silo.Security;
using Regatta.Storage;
using Regatta.WorkerAgent;
using Regatta.Workers;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// The load harness of the system scenarios: one in-process silo (localhost clustering on free ports, Regatta's
/// grains on its SQLite store in a temporary folder) and several Orleans clients, each its own host connected to
/// the silo's gateway over TCP like a worker agent, so every call pays serialisation and the socket round trip.
/// Two kinds: plain TCP with trusted clients that carry the cluster key (every call passes the gate as the cluster's
/// own), or <c>tls</c>: the silo serves TLS on its gateway as in production (<see cref="SiloTls.UseRegattaTls"/>, the
/// data folder's self-signed certificate), the clients pin its SHA-256 as an agent does (<see cref="SiloTrust"/>), and
/// each call carries what <see cref="CallAs.Current"/> says (a worker's credential, the cluster key, or nothing).
/// </summary>
public sealed class LoadCluster : IAsyncDisposable
{
    private readonly IHost _silo;
    private readonly List<IHost> _clientHosts;
    private readonly string _dataDir;

    private LoadCluster(IHost silo, List<IHost> clientHosts, string dataDir, bool tls, int gatewayPort)
    {
        Tls = tls;
        GatewayPort = gatewayPort;
        _silo = silo;
        _clientHosts = clientHosts;
        _dataDir = dataDir;
        Clients = [.. clientHosts.Select(h => h.Services.GetRequiredService<IClusterClient>())];
    }

    /// <summary>The agents' side: real clients over TCP.</summary>
    public IReadOnlyList<IClusterClient> Clients { get; }

    /// <summary>In-silo access, for setup that no agent does (seeding stored state).</summary>
    public IServiceProvider SiloServices => _silo.Services;

    public bool Tls { get; }

    /// <summary>The silo's gateway on localhost, for clients a scenario builds itself (a simulation's agent host).</summary>
    public int GatewayPort { get; }

    /// <summary>SHA-256 of the TLS silo's self-signed certificate: what an agent of this cluster pins.</summary>
    public string CertificateSha256 => File.ReadAllText(Path.Combine(_dataDir, SiloTls.LocalFingerprintFile)).Trim();

    public static async Task<LoadCluster> StartAsync(int clients, Action<CoordinatorOptions>? coordinator = null, bool tls = false)
    {
        const string service = "regatta-bench";
        var dataDir = Directory.CreateTempSubdirectory("regatta-load-").FullName;
        var (siloPort, gatewayPort) = (FreePort(), FreePort());
        var silo = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.ClearProviders().SetMinimumLevel(LogLevel.Error).AddConsole())
            .UseOrleans(s =>
            {
                s.UseLocalhostClustering(siloPort, gatewayPort, serviceId: service, clusterId: service);
                s.Services.Configure<CoordinatorOptions>(o => coordinator?.Invoke(o));
                s.Services.AddRegattaCoordinator();
                s.AddRegattaSqliteStorage(dataDir, StoreNames.Regatta);
                if (tls) s.UseRegattaTls(new SiloTlsSettings(), dataDir); // local mode: a self-signed certificate in dataDir
            })
            .Build();
        await silo.StartAsync();
        var hosts = new List<IHost>();
        for (var i = 0; i < clients; i++)
        {
            var client = Host.CreateDefaultBuilder()
                .ConfigureLogging(l => l.ClearProviders().SetMinimumLevel(LogLevel.Error).AddConsole())
                .UseOrleansClient(c =>
                {
                    c.UseLocalhostClustering(gatewayPort, serviceId: service, clusterId: service);
                    if (tls)
                    {
                        // As an agent: pin the certificate the silo wrote, and carry the identity the caller chose.
                        var sha256 = File.ReadAllText(Path.Combine(dataDir, SiloTls.LocalFingerprintFile)).Trim();
                        SiloTrust.From(sha256, caPath: null, targetHost: "localhost").Apply(c);
                        c.AddOutgoingGrainCallFilter(new CallAsStamp());
                    }
                    // The plain load clients stand for the cluster's own callers.
                    else c.AddOutgoingGrainCallFilter(new Regatta.Grains.Security.ClusterCallStamp(Regatta.Grains.Security.ClusterKey.ProcessKey));
                    // A round opening for 10k members takes longer than the default 30 s; the figure is the point.
                    c.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(10));
                })
                .Build();
            await client.StartAsync();
            hosts.Add(client);
        }
        return new LoadCluster(silo, hosts, dataDir, tls, gatewayPort);
    }

    /// <summary>
    /// Runs <paramref name="call"/> for items 0..count-1 spread round-robin over the clients, with
    /// <paramref name="inFlight"/> calls outstanding in all.
    /// </summary>
    public async Task ForEachAsync(int count, int inFlight, Func<IClusterClient, int, Task> call)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async lane =>
        {
            var client = Clients[lane % Clients.Count];
            for (int i; (i = Interlocked.Increment(ref next)) < count;)
                await call(client, i);
        }));
    }

    /// <summary>Registers and approves workers {prefix}-0..count-1 through the clients, as agents and an operator would.</summary>
    public Task RegisterWorkersAsync(string prefix, int count, int inFlight) =>
        ForEachAsync(count, inFlight, async (client, i) =>
        {
            var worker = client.GetGrain<IWorkerGrain>($"{prefix}-{i}");
            var view = await worker.Register(new WorkerRegistration { Name = $"{prefix}-{i}", Hardware = BenchHardware });
            if (view.View.Approval == ApprovalStatus.Pending) await client.GetGrain<IWorkerOperatorGrain>(worker.GetPrimaryKeyString()).Approve();
        });

    /// <summary>
    /// TLS clusters: registers workers {prefix}-0..count-1 as agents do (first registration without a credential, through
    /// the gate, which has the worker grain issue one), then approves each as the cluster's own caller. Returns the
    /// credentials, index i for worker i.
    /// </summary>
    public async Task<string[]> RegisterAgentsAsync(string prefix, int count, int inFlight)
    {
        if (!Tls) throw new InvalidOperationException("agents register through a TLS cluster's gate");
        var credentials = new string[count];
        await ForEachAsync(count, inFlight, async (client, i) =>
        {
            var id = $"{prefix}-{i}";
            CallAs.Current = CallAs.Agent(id, credential: null);
            var registered = await client.GetGrain<IWorkerGrain>(id).Register(new WorkerRegistration { Name = id, Hardware = BenchHardware });
            credentials[i] = registered.Credential ?? throw new InvalidOperationException($"worker '{id}' registered without being issued a credential");
            CallAs.Current = CallAs.Cluster;
            if (registered.View.Approval == ApprovalStatus.Pending) await client.GetGrain<IWorkerOperatorGrain>(id).Approve();
        });
        return credentials;
    }

    public static readonly Hardware BenchHardware = new()
    {
        DeviceKind = "cpu", DeviceName = "bench", CpuCores = 2, RamBytes = 1L << 30, AgentVersion = "bench",
    };

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clientHosts)
        {
            await client.StopAsync();
            client.Dispose();
        }
        await _silo.StopAsync();
        _silo.Dispose();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    private static int FreePort()
    {
        // Other silos (tests, a developer's own) may hold 11111/30000 on this machine.
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
