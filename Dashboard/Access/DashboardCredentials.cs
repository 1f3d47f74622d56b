using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Regatta.Security;

namespace Regatta.Dashboard.Access;

/// <summary>
/// The admin and read-only accounts. Passwords come from configuration; in local mode an unset admin password is
/// generated once and kept in {DataDir}/dashboard-admin-password; production mode (Regatta:Storage=Postgres) refuses
/// to start without one.
/// </summary>
public sealed class DashboardCredentials
{
    public const string PasswordFileName = "dashboard-admin-password";
    public const int MinPasswordLength = 8;

    private readonly string _adminUser;
    private readonly byte[] _adminHash;
    private readonly string? _viewerUser;
    private readonly byte[]? _viewerHash;

    private DashboardCredentials(string adminUser, string adminPassword, string? viewerUser, string? viewerPassword, string? notice)
    {
        _adminUser = adminUser;
        _adminHash = Hash(adminPassword);
        _viewerUser = viewerUser;
        _viewerHash = viewerPassword is null ? null : Hash(viewerPassword);
        Notice = notice;
    }

    public string AdminUser => _adminUser;
    public bool HasViewer => _viewerHash is not null;
    /// <summary>What the operator must be told once at start (where the generated password is); null when nothing.</summary>
    public string? Notice { get; }

    /// <summary>Reads the accounts from configuration; throws InvalidOperationException naming the setting that is wrong.</summary>
    public static DashboardCredentials FromConfiguration(IConfiguration configuration)
    {
        var options = new RegattaDashboardOptions();
        configuration.GetSection(RegattaDashboardOptions.Section).Bind(options);
        var production = string.Equals(configuration["Regatta:Storage"], "Postgres", StringComparison.OrdinalIgnoreCase);
        var dataDir = Path.GetFullPath(configuration["Regatta:DataDir"] ?? "data");
        return Resolve(options, production, dataDir);
    }

    public static DashboardCredentials Resolve(RegattaDashboardOptions options, bool production, string dataDir)
    {
        if (string.IsNullOrWhiteSpace(options.AdminUser))
            throw new InvalidOperationException("Regatta:Dashboard:AdminUser must not be empty");
        string? notice = null;
        var adminPassword = options.AdminPassword;
        if (string.IsNullOrEmpty(adminPassword))
        {
            if (production)
                throw new InvalidOperationException(
                    "Regatta:Dashboard:AdminPassword must be set in production mode (Regatta:Storage=Postgres); the dashboard has no default password");
            (adminPassword, notice) = LocalPassword(dataDir);
        }
        else if (adminPassword.Length < MinPasswordLength)
            throw new InvalidOperationException($"Regatta:Dashboard:AdminPassword must be at least {MinPasswordLength} characters");
        if (production)
        {
            PlaceholderSecrets.Refuse(adminPassword, "Regatta:Dashboard:AdminPassword");
            PlaceholderSecrets.Refuse(options.ViewerPassword, "Regatta:Dashboard:ViewerPassword");
        }

        string? viewerUser = null, viewerPassword = null;
        if (!string.IsNullOrEmpty(options.ViewerPassword))
        {
            if (string.IsNullOrWhiteSpace(options.ViewerUser))
                throw new InvalidOperationException("Regatta:Dashboard:ViewerUser must not be empty when ViewerPassword is set");
            if (string.Equals(options.ViewerUser, options.AdminUser, StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException("Regatta:Dashboard:ViewerUser must differ from AdminUser");
            if (options.ViewerPassword.Length < MinPasswordLength)
                throw new InvalidOperationException($"Regatta:Dashboard:ViewerPassword must be at least {MinPasswordLength} characters");
            (viewerUser, viewerPassword) = (options.ViewerUser, options.ViewerPassword);
        }
        return new DashboardCredentials(options.AdminUser, adminPassword, viewerUser, viewerPassword, notice);
    }

    /// <summary>The role the user signs in with, or null when the name or password is wrong.</summary>
    public string? Authenticate(string? user, string? password)
    {
        if (string.IsNullOrEmpty(user) || string.IsNullOrEmpty(password) || password.Length > 1024) return null;
        var hash = Hash(password);
        // Both comparisons always run, in constant time, so timing does not tell which account exists.
        var admin = CryptographicOperations.FixedTimeEquals(hash, _adminHash) & string.Equals(user, _adminUser, StringComparison.OrdinalIgnoreCase);
        var viewer = _viewerHash is not null && CryptographicOperations.FixedTimeEquals(hash, _viewerHash)
            & string.Equals(user, _viewerUser, StringComparison.OrdinalIgnoreCase);
        return admin ? DashboardRoles.Admin : viewer ? DashboardRoles.Viewer : null;
    }

    public string UserNameFor(string role) => role == DashboardRoles.Admin ? _adminUser : _viewerUser ?? "";

    private static (string Password, string Notice) LocalPassword(string dataDir)
    {
        var file = Path.Combine(dataDir, PasswordFileName);
        if (File.Exists(file) && File.ReadAllText(file).Trim() is { Length: >= MinPasswordLength } kept)
            return (kept, $"Dashboard admin password (local mode) is in {file}");
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', '-').Replace('/', '_');
        PrivateFile.WriteLine(file, password);
        // The password goes to its private file only, never to the log.
        return (password, $"Dashboard admin password generated (local mode) and saved to {file} (mode 0600); set Regatta:Dashboard:AdminPassword to choose one");
    }

    private static byte[] Hash(string password) => SHA256.HashData(Encoding.UTF8.GetBytes(password));
}
