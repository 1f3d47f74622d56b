using Regatta.Grains.Security;
using Regatta.Security;

namespace Regatta.Silo.Api;

/// <summary>
/// The admin API key that mutating endpoints require as a bearer token. Configured with Regatta:AdminApiKey
/// (production mode refuses to start without one). Without one, local mode generates a key once and keeps it in
/// {DataDir}/admin-api-key (mode 0600) so scripts on this machine can read it and it survives restarts.
/// </summary>
public sealed class AdminApiKey
{
    public const string FileName = "admin-api-key";
    private readonly byte[] _hash;

    private AdminApiKey(string key) => _hash = Secrets.Hash(key);

    /// <summary>Constant-time check of a presented key.</summary>
    public bool Matches(string? presented) => Secrets.Matches(presented, _hash);

    public static AdminApiKey Resolve(string? configured, string dataDir, ILogger logger)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            logger.LogInformation("Admin API key taken from configuration (Regatta:AdminApiKey)");
            return new AdminApiKey(configured.Trim());
        }
        var path = Path.Combine(dataDir, FileName);
        if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: >= 16 } kept)
        {
            PrivateFile.Tighten(path);
            logger.LogInformation("Admin API key read from {Path}", path);
            return new AdminApiKey(kept);
        }
        var key = Secrets.New();
        PrivateFile.WriteLine(path, key);
        // The key goes to its private file only, never to the log (logs are shipped, kept and read by others).
        logger.LogWarning("No Regatta:AdminApiKey configured: generated admin API key saved to {Path} (mode 0600)", path);
        return new AdminApiKey(key);
    }

}
