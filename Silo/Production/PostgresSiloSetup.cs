using System.Net;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Regatta.Grains;
using Regatta.Grains.Models;
using Regatta.Storage;

namespace Regatta.Silo.Production;

/// <summary>Production mode: a silo of a cluster whose membership, grain state, reminders and blobs live in PostgreSQL.</summary>
public static class PostgresSiloSetup
{
    /// <summary>
    /// Configures the silo's endpoints from <paramref name="settings"/> (ports, advertised address) and puts clustering,
    /// storage, reminders and blobs on the database of <paramref name="connectionString"/>. Throws
    /// <see cref="InvalidOperationException"/> at once when the server is unreachable or the schema is missing.
    /// </summary>
    public static ISiloBuilder UseRegattaPostgres(this ISiloBuilder silo, SiloSettings settings, string? connectionString)
    {
        PlaceholderSecrets.Refuse(DatabasePassword(connectionString), "the database password of ConnectionStrings:Regatta");
        silo.Configure<EndpointOptions>(o =>
        {
            o.SiloPort = settings.SiloPort;
            o.GatewayPort = settings.GatewayPort;
            if (settings.AdvertisedIp is { } ip)
            {
                o.AdvertisedIPAddress = ip;
                // Silos of one host (tests, a laptop) stay on loopback; a pod IP is reachable from the whole network.
                var listenOn = IPAddress.IsLoopback(ip) ? ip : (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any);
                o.SiloListeningEndpoint = new IPEndPoint(listenOn, settings.SiloPort);
                o.GatewayListeningEndpoint = new IPEndPoint(listenOn, settings.GatewayPort);
            }
        });
        // Orleans warns about reminders under a minute in production; allow exactly what the run reminders use.
        var reminderPeriod = silo.Configuration.GetValue<TimeSpan?>($"{CoordinatorOptions.Section}:ReminderPeriod") ?? new CoordinatorOptions().ReminderPeriod;
        silo.AddRegattaPostgresStorage(connectionString, StoreNames.Regatta, reminderPeriod < TimeSpan.FromMinutes(1) ? reminderPeriod : TimeSpan.FromMinutes(1));
        // Blobs must be shared: a BlobGrain (and a RunGrain reading updates) may activate on any silo.
        silo.Services.Replace(ServiceDescriptor.Singleton<IBlobStore, PostgresBlobStore>());
        // Sign-in cookies and circuits must be readable by every silo (a request may land on any of them).
        PostgresKeyRing.Use(silo.Services);
        return silo;
    }

    /// <summary>The password of a PostgreSQL connection string, or null when it has none (or cannot be read: the storage setup says why).</summary>
    public static string? DatabasePassword(string? connectionString)
    {
        try
        {
            return string.IsNullOrEmpty(connectionString) ? null : new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Password;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
