namespace Regatta.Dashboard;

/// <summary>Settings of the dashboard, from configuration section "Regatta:Dashboard".</summary>
public sealed class RegattaDashboardOptions
{
    public const string Section = "Regatta:Dashboard";

    public string AdminUser { get; set; } = "admin";
    /// <summary>Required in production mode; generated and written to {DataDir}/dashboard-admin-password in local mode when empty.</summary>
    public string? AdminPassword { get; set; }
    public string ViewerUser { get; set; } = "viewer";
    /// <summary>When empty there is no read-only account.</summary>
    public string? ViewerPassword { get; set; }
    /// <summary>How often the shared feed reads the grains while someone is watching.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>How long a sign-in lasts without activity.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);
}
