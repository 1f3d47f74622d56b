namespace Regatta.Silo;

public enum StorageKind { Sqlite, Postgres }

/// <summary>The silo's own settings from configuration section "Regatta" (appsettings, REGATTA__X env vars, --Regatta:X).</summary>
public sealed record SiloSettings
{
    public StorageKind Storage { get; init; } = StorageKind.Sqlite;
    public string DataDir { get; init; } = "data";
    public int SiloPort { get; init; } = 11111;
    public int GatewayPort { get; init; } = 30000;
    public string ClusterId { get; init; } = "regatta";
    public string ServiceId { get; init; } = "regatta";

    public static SiloSettings From(IConfiguration section)
    {
        var settings = new SiloSettings();
        var storage = section["Storage"];
        if (storage is not null && !Enum.TryParse<StorageKind>(storage, ignoreCase: true, out var kind))
            throw new InvalidOperationException($"Regatta:Storage must be Sqlite or Postgres, not '{storage}'");
        return settings with
        {
            Storage = storage is null ? settings.Storage : Enum.Parse<StorageKind>(storage, ignoreCase: true),
            DataDir = Path.GetFullPath(section["DataDir"] ?? settings.DataDir),
            SiloPort = Port(section, "SiloPort", settings.SiloPort),
            GatewayPort = Port(section, "GatewayPort", settings.GatewayPort),
            ClusterId = section["ClusterId"] ?? settings.ClusterId,
            ServiceId = section["ServiceId"] ?? settings.ServiceId,
        };
    }

    private static int Port(IConfiguration section, string key, int fallback)
    {
        var text = section[key];
        if (text is null) return fallback;
        return int.TryParse(text, out var port) && port is > 0 and < 65536
            ? port
            : throw new InvalidOperationException($"Regatta:{key} must be a port in [1, 65535], not '{text}'");
    }
}
