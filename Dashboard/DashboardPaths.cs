namespace Regatta.Dashboard;

public static class DashboardPaths
{
    /// <summary>Orleans' own dashboard (silos, grain activations, call rates), for admins.</summary>
    public const string OrleansDashboard = "/orleans";
}
