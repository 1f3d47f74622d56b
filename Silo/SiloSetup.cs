using System.Net;
using Orleans.Configuration;
using Orleans.Dashboard;
using Regatta.Grains;
using Regatta.Silo.Production;
using Regatta.Silo.Security;
using Regatta.Storage;

namespace Regatta.Silo;

/// <summary>How a Regatta silo is put together, as extension methods so Program.cs reads as a story.</summary>
public static class SiloSetup
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>HTTP on 127.0.0.1:5080 unless --urls or ASPNETCORE_URLS says otherwise.</summary>
    public static WebApplicationBuilder UseRegattaDefaults(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
            builder.WebHost.UseUrls(DefaultUrl);
        return builder;
    }

    public static WebApplicationBuilder AddRegattaSilo(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration.GetSection(CoordinatorOptions.Section);
        var settings = SiloSettings.From(config);
        builder.Services.Configure<CoordinatorOptions>(config);
        builder.Services.PostConfigure<CoordinatorOptions>(o => o.DataDir = settings.DataDir);
        // Shared by the cluster's silos: it marks their own calls, which the gate lets through (docs/security.md).
        builder.Services.AddSingleton(Grains.Security.ClusterKey.From(config["ClusterKey"], settings.AdminApiKey));
        builder.Services.AddRegattaCoordinator();
        var connectionString = builder.Configuration.GetConnectionString("Regatta");
        builder.UseOrleans(silo => silo.ConfigureRegattaSilo(settings, connectionString));
        builder.AddRegattaHealth(settings);
        builder.AddRegattaMetrics();
        return builder;
    }

    /// <param name="connectionString">ConnectionStrings:Regatta, used in Postgres mode.</param>
    public static ISiloBuilder ConfigureRegattaSilo(this ISiloBuilder silo, SiloSettings settings, string? connectionString = null)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = settings.ClusterId;
            o.ServiceId = settings.ServiceId;
        });
        // Failure detection timings (Regatta:Membership:ProbeTimeout, NumMissedProbesLimit, ...): Orleans' defaults unless set.
        silo.Services.Configure<ClusterMembershipOptions>(silo.Configuration.GetSection($"{CoordinatorOptions.Section}:Membership"));
        // Orleans' own dashboard (silos, activations, call rates), served at /orleans behind the admin sign-in.
        silo.AddDashboard();
        // Agents connect from untrusted machines: the gateway and silo-to-silo traffic are TLS only (docs/deploy.md, TLS).
        silo.UseRegattaTls(settings.Tls, settings.DataDir);
        switch (settings.Storage)
        {
            case StorageKind.Sqlite:
                silo.UseLocalhostClustering(settings.SiloPort, settings.GatewayPort, new IPEndPoint(IPAddress.Loopback, settings.SiloPort),
                    settings.ServiceId, settings.ClusterId);
                silo.AddRegattaSqliteStorage(settings.DataDir, StoreNames.Regatta);
                break;
            case StorageKind.Postgres:
                silo.UseRegattaPostgres(settings, connectionString);
                break;
            default:
                throw new InvalidOperationException($"Regatta:Storage '{settings.Storage}' is not supported by this build");
        }
        return silo;
    }

}
