using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Regatta.Grains;
using Regatta.Grains.Network;
using Regatta.Silo.Security;
using Regatta.Storage;
using Regatta.WorkerAgent;

namespace Regatta.Tests;

/// <summary>
/// A real Orleans test cluster with Regatta's grains on the embedded SQLite store in a temporary folder,
/// with short timings so runs move in seconds. Disposing it stops the silos and deletes the folder.
/// </summary>
public sealed class RegattaCluster : IAsyncDisposable
{
    private RegattaCluster(TestCluster cluster, string dataDir, string certificateSha256)
    {
        Cluster = cluster;
        DataDir = dataDir;
        CertificateSha256 = certificateSha256;
    }

    public TestCluster Cluster { get; }
    public string DataDir { get; }
    public IGrainFactory Grains => Cluster.GrainFactory;
    public IClusterClient Client => Cluster.Client;
    /// <summary>SHA-256 of the silos' TLS certificate: what every client of this cluster pins (AgentOptions.SiloCertSha256).</summary>
    public string CertificateSha256 { get; }

    /// <param name="tick">How often runs tick (default 200 ms).</param>
    public static async Task<RegattaCluster> StartAsync(string? dataDir = null, TimeSpan? heartbeatTimeout = null, short silos = 1, TimeSpan? tick = null)
    {
        dataDir ??= Directory.CreateTempSubdirectory("regatta-cluster-").FullName;
        var builder = new TestClusterBuilder(silos);
        // Stored state and reminders are keyed by service id: a restarted cluster must keep it. Agents use these ids too.
        builder.Options.ServiceId = "regatta";
        builder.Options.ClusterId = "regatta";
        // Real sockets, so separate clients (worker agents) can connect to the gateway like they do in production.
        builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
        builder.Properties["Regatta:DataDir"] = dataDir;
        builder.Properties["Regatta:TickInterval"] = (tick ?? TimeSpan.FromMilliseconds(200)).ToString("c");
        builder.Properties["Regatta:ReminderPeriod"] = "00:00:05";
        builder.Properties["Regatta:HeartbeatTimeout"] = (heartbeatTimeout ?? TimeSpan.FromSeconds(30)).ToString("c");
        builder.Properties["Regatta:HeartbeatInterval"] = "00:00:01";
        builder.Properties["Regatta:ForwardTimeout"] = "00:00:05";
        // The served transformer: 6 blocks, so three workers can hold a third each.
        builder.Properties["Regatta:Network:TotalLayers"] = "6";
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        // TLS as in production: the silos serve the data folder's self-signed certificate (made here, before they start,
        // so that several silos share one), and the cluster's own client pins it like an agent does.
        var certificate = SiloTls.EnsureLocalCertificate(dataDir);
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        builder.AddClientBuilderConfigurator<TrustedClient>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new RegattaCluster(cluster, dataDir, certificate.Sha256);
    }

    /// <summary>Stops every silo and starts a new cluster on the same SQLite file.</summary>
    public async Task<RegattaCluster> RestartAsync(TimeSpan? heartbeatTimeout = null)
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        return await StartAsync(DataDir, heartbeatTimeout);
    }

    /// <summary>Kills every silo (no deactivation runs: what was only in memory is gone) and starts a new cluster on the same SQLite file.</summary>
    public async Task<RegattaCluster> CrashAndRestartAsync()
    {
        foreach (var silo in Cluster.Silos.ToList()) await Cluster.KillSiloAsync(silo);
        await Cluster.DisposeAsync();
        return await StartAsync(DataDir);
    }

    public async ValueTask DisposeAsync()
    {
        try { await Cluster.StopAllSilosAsync(); } catch (ObjectDisposedException) { }
        await Cluster.DisposeAsync();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }

    /// <summary>The test cluster's own client stands for the cluster (an operator's REST call, a grain): it carries the cluster key.</summary>
    private sealed class TrustedClient : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder client) =>
            client.AddOutgoingGrainCallFilter(new global::Regatta.Grains.Security.ClusterCallStamp(global::Regatta.Grains.Security.ClusterKey.ProcessKey));
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            var config = silo.Configuration.GetSection(CoordinatorOptions.Section);
            silo.Services.Configure<CoordinatorOptions>(config);
            silo.Services.Configure<NetworkOptions>(silo.Configuration.GetSection(NetworkOptions.Section));
            silo.Services.AddRegattaCoordinator();
            silo.AddRegattaSqliteStorage(config["DataDir"]!, StoreNames.Regatta);
            silo.UseRegattaTls(new SiloTlsSettings(), config["DataDir"]!);
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder client)
        {
            var sha256 = File.ReadAllText(Path.Combine(configuration["Regatta:DataDir"]!, SiloTls.LocalFingerprintFile));
            SiloTrust.From(sha256, caPath: null, targetHost: "localhost").Apply(client);
        }
    }
}
