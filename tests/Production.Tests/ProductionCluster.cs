using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;
using Orleans.Hosting;
using Regatta.WorkerAgent;

namespace Regatta.Tests;

/// <summary>
/// A production-mode cluster for one test: its own PostgreSQL database (schema from init.sh), silo processes configured
/// through the environment exactly as the container images are, and Orleans clients that find the gateways through
/// the silos' GET /api/cluster/gateways, built by the worker agent's own <see cref="AgentHost"/> but carrying the cluster
/// key (they stand for the operator's REST calls). Disposing kills what is left.
/// </summary>
public sealed class ProductionCluster : IAsyncDisposable
{
    public const string AdminKey = "production-tests-admin-key";
    public const string CertificatePassword = "production-tests-pfx-password";
    private readonly List<SiloProcess> _silos = [];
    private readonly List<IHost> _clients = [];
    private int _started;

    private ProductionCluster(string connectionString, string workDir)
    {
        ConnectionString = connectionString;
        WorkDir = workDir;
        // Production mode refuses to start without a certificate: every silo of the cluster serves this one.
        var certificate = Path.Combine(workDir, "silo-cert.pfx");
        CertificateSha256 = TestCertificates.WritePfx(certificate, CertificatePassword);
        Settings["Regatta__Tls__CertificatePath"] = certificate;
        Settings["Regatta__Tls__CertificatePassword"] = CertificatePassword;
    }

    public string ConnectionString { get; }
    public string WorkDir { get; }
    public IReadOnlyList<SiloProcess> Silos => _silos;
    /// <summary>SHA-256 of the silos' TLS certificate, which this cluster's clients pin.</summary>
    public string CertificateSha256 { get; }

    /// <summary>Settings every silo of this cluster gets (short timings so runs and failure detection take seconds).</summary>
    public Dictionary<string, string> Settings { get; } = new()
    {
        ["Regatta__Storage"] = "Postgres",
        ["Regatta__AdminApiKey"] = AdminKey,
        ["Regatta__Dashboard__AdminPassword"] = "production-tests-dashboard",
        ["Regatta__AdvertisedIp"] = "127.0.0.1",
        ["Regatta__TickInterval"] = "00:00:00.200",
        ["Regatta__ReminderPeriod"] = "00:00:05",
        ["Regatta__HeartbeatTimeout"] = "00:00:30",
        ["Regatta__HeartbeatInterval"] = "00:00:01",
        // A silo that stops answering is suspected after 2 missed 1-second probes.
        ["Regatta__Membership__ProbeTimeout"] = "00:00:01",
        ["Regatta__Membership__NumMissedProbesLimit"] = "2",
        ["Logging__LogLevel__Default"] = "Information",
        ["Logging__LogLevel__Orleans"] = "Warning",
        ["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning",
    };

    public static async Task<ProductionCluster> CreateAsync(PostgresServer server) =>
        new(await server.CreateDatabaseAsync(), Directory.CreateTempSubdirectory("regatta-prod-").FullName);

    /// <summary>Starts a silo process (on fresh ports unless given) and waits until it is healthy.</summary>
    public async Task<SiloProcess> StartSiloAsync(SiloPorts? ports = null)
    {
        var name = $"silo-{Interlocked.Increment(ref _started)}";
        ports ??= SiloPorts.Free();
        var silo = await SiloProcess.StartAsync(name, ports, Environment(ports, name), Path.Combine(WorkDir, name));
        _silos.Add(silo);
        return silo;
    }

    /// <summary>The environment of one silo: this cluster's settings, database and ports.</summary>
    public Dictionary<string, string> Environment(SiloPorts ports, string name) => new(Settings)
    {
        ["ConnectionStrings__Regatta"] = ConnectionString,
        ["Regatta__SiloPort"] = ports.Silo.ToString(),
        ["Regatta__GatewayPort"] = ports.Gateway.ToString(),
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ports.Http}",
        ["Regatta__DataDir"] = Path.Combine(WorkDir, name, "data"),
    };

    /// <summary>
    /// An Orleans client as a worker agent builds it with <c>--gateways-url</c> naming every silo started so far: gateways
    /// come from their GET /api/cluster/gateways (the first that answers), read again every second.
    /// </summary>
    public async Task<IClusterClient> ConnectClientAsync()
    {
        var host = AgentHost.Build(new AgentOptions
        {
            Coordinator = "127.0.0.1:1", // unused: --gateways-url wins
            GatewaysUrl = string.Join(",", _silos.Select(s => s.BaseUrl)),
            GatewaysRefresh = TimeSpan.FromSeconds(1),
            Name = "tests",
            WorkerId = "tests",
            CacheDir = Path.Combine(WorkDir, "client-cache"),
            SiloCertSha256 = CertificateSha256,
        }, _ => { }, client => client.AddOutgoingGrainCallFilter(
            new Regatta.Grains.Security.ClusterCallStamp(Regatta.Grains.Security.ClusterKey.DerivedFrom(AdminKey))));
        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        _clients.Add(host);
        return host.Services.GetRequiredService<IClusterClient>();
    }

    /// <summary>The rows of OrleansMembershipTable: who the cluster thinks is alive (Status 3) or dead (6).</summary>
    public async Task<List<MembershipRow>> MembershipAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT Address, Port, Generation, Status, ProxyPort FROM OrleansMembershipTable ORDER BY StartTime", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<MembershipRow>();
        while (await reader.ReadAsync())
            rows.Add(new MembershipRow(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), reader.IsDBNull(4) ? 0 : reader.GetInt32(4)));
        return rows;
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    /// <summary>The logs of every silo, for a failure message.</summary>
    public string Logs() => string.Join("\n", _silos.Select(s => $"==== {s.Name} (pid {s.Pid}) ====\n{s.Tail(80)}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            try { await client.StopAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { /* the cluster may be gone */ }
            client.Dispose();
        }
        foreach (var silo in _silos) await silo.DisposeAsync();
        try { Directory.Delete(WorkDir, recursive: true); } catch (IOException) { }
    }
}

public sealed record MembershipRow(string Address, int Port, int Generation, int Status, int ProxyPort)
{
    public const int Active = 3;
    public const int Dead = 6;
}
