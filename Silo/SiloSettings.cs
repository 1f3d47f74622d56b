using System.Net;
using Regatta.Silo.Security;

namespace Regatta.Silo;

public enum StorageKind { Sqlite, Postgres }

/// <summary>The silo's own settings from configuration section "Regatta" (appsettings, Regatta__X env vars, --Regatta:X).</summary>
public sealed record SiloSettings
{
    /// <summary>Shortest admin key production mode accepts.</summary>
    public const int MinAdminApiKeyLength = 16;

    public StorageKind Storage { get; init; } = StorageKind.Sqlite;
    public string DataDir { get; init; } = "data";
    public int SiloPort { get; init; } = 11111;
    public int GatewayPort { get; init; } = 30000;
    public string ClusterId { get; init; } = "regatta";
    public string ServiceId { get; init; } = "regatta";
    /// <summary>
    /// Address other silos and clients reach this silo at (Postgres mode; <c>Regatta:AdvertisedIp</c>, on Kubernetes the pod
    /// IP). Null: Orleans picks this host's first non-loopback address. A loopback address also makes the silo listen on
    /// loopback only (several silos on one host); any other address listens on all interfaces.
    /// </summary>
    public IPAddress? AdvertisedIp { get; init; }
    /// <summary>Key of the admin API (<c>Regatta:AdminApiKey</c>); required, at least 16 characters, in Postgres mode.</summary>
    public string? AdminApiKey { get; init; }
    /// <summary>The certificate of the gateway and silo-to-silo TLS (<c>Regatta:Tls:*</c>); required in Postgres mode.</summary>
    public SiloTlsSettings Tls { get; init; } = new();
    /// <summary>
    /// How long the host gives its services to stop after SIGTERM (<c>Regatta:ShutdownTimeout</c>): the drain below, then
    /// Orleans handing its grains over. Kept under Kubernetes' terminationGracePeriodSeconds (60 s in deploy/k8s).
    /// </summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(50);
    /// <summary>
    /// After SIGTERM, how long the silo keeps serving HTTP while /healthz/ready says 503 (<c>Regatta:DrainDelay</c>), so
    /// that load balancers that poll readiness stop sending before it goes.
    /// </summary>
    public TimeSpan DrainDelay { get; init; } = TimeSpan.FromSeconds(2);

    public static SiloSettings From(IConfiguration section)
    {
        var settings = new SiloSettings();
        var storage = section["Storage"];
        if (storage is not null && !Enum.TryParse<StorageKind>(storage, ignoreCase: true, out var kind))
            throw new InvalidOperationException($"Regatta:Storage must be Sqlite or Postgres, not '{storage}'");
        settings = settings with
        {
            Storage = storage is null ? settings.Storage : Enum.Parse<StorageKind>(storage, ignoreCase: true),
            DataDir = Path.GetFullPath(section["DataDir"] ?? settings.DataDir),
            SiloPort = Port(section, "SiloPort", settings.SiloPort),
            GatewayPort = Port(section, "GatewayPort", settings.GatewayPort),
            ClusterId = section["ClusterId"] ?? settings.ClusterId,
            ServiceId = section["ServiceId"] ?? settings.ServiceId,
            AdvertisedIp = Address(section, "AdvertisedIp"),
            AdminApiKey = string.IsNullOrEmpty(section["AdminApiKey"]) ? null : section["AdminApiKey"],
            ShutdownTimeout = Duration(section, "ShutdownTimeout", settings.ShutdownTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)),
            DrainDelay = Duration(section, "DrainDelay", settings.DrainDelay, TimeSpan.Zero, TimeSpan.FromMinutes(1)),
        };
        if (settings.DrainDelay >= settings.ShutdownTimeout)
            throw new InvalidOperationException(
                $"Regatta:DrainDelay ({settings.DrainDelay}) must be shorter than Regatta:ShutdownTimeout ({settings.ShutdownTimeout}): the drain is part of the shutdown");
        if (settings.SiloPort == settings.GatewayPort)
            throw new InvalidOperationException($"Regatta:SiloPort and Regatta:GatewayPort must differ (both are {settings.SiloPort})");
        if (settings.Storage == StorageKind.Postgres && (settings.AdminApiKey?.Trim().Length ?? 0) < MinAdminApiKeyLength)
            throw new InvalidOperationException(
                $"Production mode (Regatta:Storage=Postgres) needs Regatta:AdminApiKey (env Regatta__AdminApiKey) of at least {MinAdminApiKeyLength} characters; " +
                (settings.AdminApiKey is null ? "it is not set." : $"it has {settings.AdminApiKey.Trim().Length}."));
        if (settings.Storage == StorageKind.Postgres) PlaceholderSecrets.Refuse(settings.AdminApiKey, "Regatta:AdminApiKey");
        return settings with { Tls = SiloTlsSettings.From(section, settings.Storage) };
    }

    private static int Port(IConfiguration section, string key, int fallback)
    {
        var text = section[key];
        if (text is null) return fallback;
        return int.TryParse(text, out var port) && port is > 0 and < 65536
            ? port
            : throw new InvalidOperationException($"Regatta:{key} must be a port in [1, 65535], not '{text}'");
    }

    private static TimeSpan Duration(IConfiguration section, string key, TimeSpan fallback, TimeSpan min, TimeSpan max)
    {
        var text = section[key];
        if (text is null) return fallback;
        return TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new InvalidOperationException($"Regatta:{key} must be a duration (hh:mm:ss) in [{min}, {max}], not '{text}'");
    }

    private static IPAddress? Address(IConfiguration section, string key)
    {
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text)) return null;
        return IPAddress.TryParse(text.Trim(), out var address) && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any)
            ? address
            : throw new InvalidOperationException($"Regatta:{key} must be the IP address this silo is reached at (e.g. the pod IP), not '{text}'");
    }
}
