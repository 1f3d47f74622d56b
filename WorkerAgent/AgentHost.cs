using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Regatta.WorkerAgent;

/// <summary>Starts the Orleans client for an agent and runs its session until Ctrl+C.</summary>
public static class AgentHost
{
    public static async Task<int> RunAsync(AgentOptions options, CancellationToken ct)
    {
        using var host = Build(options);
        await host.StartAsync(ct);
        var session = new WorkerSession(options, host.Services.GetRequiredService<IClusterClient>(),
            host.Services.GetRequiredService<ILoggerFactory>());
        try
        {
            // Ctrl+C and SIGTERM reach the host's lifetime first: the session must hear them too, to unregister.
            var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
            await session.RunAsync(stopping.Token);
            return 0;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    public static IHost Build(AgentOptions options, Action<ILoggingBuilder>? logging = null)
    {
        var builder = Host.CreateApplicationBuilder();
        // --cluster-db, else ConnectionStrings__Regatta from the environment, else the static --coordinator gateway.
        var clusterDb = options.ClusterDb ?? builder.Configuration.GetConnectionString("Regatta");
        var gateway = string.IsNullOrWhiteSpace(clusterDb) ? ParseGateway(options.Coordinator) : null;
        var trust = Trust(options, clusterDb);
        builder.Logging.ClearProviders();
        if (logging is null) builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        else logging(builder.Logging);
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            if (gateway is not null) client.UseStaticClustering(gateway);
            else UseClusterDatabase(client, clusterDb!);
            client.Configure<ClusterOptions>(o => { o.ClusterId = "regatta"; o.ServiceId = "regatta"; });
            // The gateway speaks TLS only; the agent checks it is talking to the real silo before sending anything.
            trust.Apply(client);
            // Keep trying while the cluster is down; the session's own retries cover calls in between.
            client.UseConnectionRetryFilter(async (_, token) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(1), token);
                return !token.IsCancellationRequested;
            });
        });
        var host = builder.Build();
        trust.Log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SiloTrust));
        return host;
    }

    /// <summary>
    /// How this client checks the silo (<see cref="SiloTrust"/>). The name checked against a CA-issued certificate:
    /// --silo-tls-name, else the host of --coordinator; with --cluster-db, each gateway's address from the table.
    /// </summary>
    public static SiloTrust Trust(AgentOptions options, string? clusterDb = null) =>
        SiloTrust.From(options.SiloCertSha256, options.SiloCa,
            options.SiloTlsName ?? (string.IsNullOrWhiteSpace(clusterDb ?? options.ClusterDb) ? GatewayHost(options.Coordinator) : null));

    private static string GatewayHost(string coordinator)
    {
        var colon = coordinator.LastIndexOf(':');
        return (colon > 0 ? coordinator[..colon] : coordinator).Trim('[', ']');
    }

    /// <summary>Gateways from the ADO.NET clustering table (production mode), refreshed often so a lost silo's gateway is replaced quickly.</summary>
    private static void UseClusterDatabase(IClientBuilder client, string connectionString)
    {
        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ArgumentException($"--cluster-db / ConnectionStrings__Regatta is not a valid Npgsql connection string: {e.Message}", e);
        }
        client.UseAdoNetClustering(o =>
        {
            o.Invariant = "Npgsql";
            o.ConnectionString = connectionString;
        });
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(10));
    }

    public static IPEndPoint ParseGateway(string coordinator)
    {
        var colon = coordinator.LastIndexOf(':');
        var host = colon > 0 ? coordinator[..colon] : coordinator;
        var port = 30000;
        if (colon > 0 && (!int.TryParse(coordinator[(colon + 1)..], out port) || port is < 1 or > 65535))
            throw new ArgumentException($"--coordinator '{coordinator}': expected host:port with a port in [1, 65535]");
        var address = IPAddress.TryParse(host, out var ip) ? ip
            : Dns.GetHostAddresses(host).OrderBy(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 0 : 1).First();
        return new IPEndPoint(address, port);
    }
}
