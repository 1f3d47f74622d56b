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
            host.Services.GetRequiredService<ILoggerFactory>(), host.Services.GetRequiredService<WorkerCredential>());
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

    /// <param name="client">More client configuration (tests and benchmarks that stand for the cluster add its key).</param>
    public static IHost Build(AgentOptions options, Action<ILoggingBuilder>? logging = null, Action<IClientBuilder>? client = null)
    {
        var builder = Host.CreateApplicationBuilder();
        // --gateways-url (the silo's anonymous gateway list, read again every GatewaysRefresh), else the static --coordinator list.
        var gatewaysUrls = options.GatewaysUrl is { } url ? GatewayList.ParseUrls(url) : null;
        var gateways = gatewaysUrls is null ? GatewayList.ParseStatic(options.Coordinator) : null;
        var trust = Trust(options);
        builder.Logging.ClearProviders();
        if (logging is null) builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        else logging(builder.Logging);
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        var credential = new WorkerCredential(options.WorkerId, options.CacheDir);
        builder.Services.AddSingleton(credential);
        builder.UseOrleansClient(orleans =>
        {
            orleans.AddOutgoingGrainCallFilter(new WorkerCredentialStamp(credential));
            client?.Invoke(orleans);
            if (gateways is not null) orleans.UseStaticClustering(gateways);
            else UseGatewaysUrl(orleans, gatewaysUrls!, options.GatewaysRefresh);
            orleans.Configure<ClusterOptions>(o => { o.ClusterId = options.ClusterId; o.ServiceId = options.ServiceId; });
            // The gateway speaks TLS only; the agent checks it is talking to the real silo before sending anything.
            trust.Apply(orleans);
            // Keep trying while the cluster is down; the session's own retries cover calls in between.
            orleans.UseConnectionRetryFilter(async (_, token) =>
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
    /// --silo-tls-name, else the host of the first --coordinator gateway; with --gateways-url, each gateway's address.
    /// </summary>
    public static SiloTrust Trust(AgentOptions options) =>
        SiloTrust.From(options.SiloCertSha256, options.SiloCa,
            options.SiloTlsName ?? (options.GatewaysUrl is null ? SplitGateway(options.Coordinator.Split(',')[0].Trim()).Host : null));

    /// <summary>Gateways from GET /api/cluster/gateways, refreshed often so a lost silo's gateway is replaced quickly.</summary>
    private static void UseGatewaysUrl(IClientBuilder client, IReadOnlyList<Uri> urls, TimeSpan refresh)
    {
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = refresh);
        client.ConfigureServices(services => services.AddSingleton<Orleans.Messaging.IGatewayListProvider>(sp =>
            new HttpGatewayListProvider(urls, refresh, sp.GetRequiredService<ILogger<HttpGatewayListProvider>>())));
    }

    /// <summary>"host:port", "[v6]:port" or "host" (port 30000) split into its parts, brackets removed.</summary>
    private static (string Host, int Port) SplitGateway(string coordinator)
    {
        var colon = coordinator.LastIndexOf(':');
        if (colon > 0 && coordinator.StartsWith('[') && coordinator[colon - 1] != ']') colon = -1; // "[v6]" without a port
        var host = (colon > 0 ? coordinator[..colon] : coordinator).Trim('[', ']');
        var port = 30000;
        if (colon > 0 && (!int.TryParse(coordinator[(colon + 1)..], out port) || port is < 1 or > 65535))
            throw new ArgumentException($"--coordinator '{coordinator}': expected host:port with a port in [1, 65535]");
        return (host, port);
    }

    public static IPEndPoint ParseGateway(string coordinator)
    {
        var (host, port) = SplitGateway(coordinator);
        var address = IPAddress.TryParse(host, out var ip) ? ip
            : Dns.GetHostAddresses(host).OrderBy(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 0 : 1).First();
        return new IPEndPoint(address, port);
    }
}
