namespace Regatta.Dashboard;

public static class DashboardMetrics
{
    /// <summary>The meter the dashboard's polls, sign-ins and actions are counted on.</summary>
    public const string MeterName = "Regatta.Dashboard";
}
