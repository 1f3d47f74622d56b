namespace Regatta;

/// <summary>
/// The example secrets shipped in deploy/compose.yaml and deploy/k8s/secrets.example.yaml. They are public, so
/// production mode (Regatta:Storage=Postgres) refuses to start with any of them: one list for every secret it checks.
/// </summary>
public static class PlaceholderSecrets
{
    /// <summary>Example values the deploy files once defaulted to, and their documentation still shows.</summary>
    public static IReadOnlyList<string> Known { get; } = ["dev-admin-key-change-me", "dev-dashboard-password", "regatta-dev-password"];

    /// <summary>True for a shipped example value, or anything still saying "change me" (the Kubernetes example's CHANGE-ME...).</summary>
    public static bool IsPlaceholder(string? secret)
    {
        if (string.IsNullOrWhiteSpace(secret)) return false;
        var value = secret.Trim();
        return Known.Contains(value, StringComparer.OrdinalIgnoreCase)
            || value.Replace('_', '-').Contains("change-me", StringComparison.OrdinalIgnoreCase)
            || value.Contains("changeme", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Throws naming <paramref name="setting"/> (never the value) when <paramref name="secret"/> is a placeholder.</summary>
    public static void Refuse(string? secret, string setting)
    {
        if (IsPlaceholder(secret))
            throw new InvalidOperationException(
                $"{setting} is an example value from the deploy files (deploy/compose.yaml, deploy/k8s/secrets.example.yaml); " +
                "production mode (Regatta:Storage=Postgres) needs a secret of your own (e.g. openssl rand -base64 32)");
    }
}
