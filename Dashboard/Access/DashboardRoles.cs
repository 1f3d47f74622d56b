namespace Regatta.Dashboard.Access;

public static class DashboardRoles
{
    public const string Admin = "admin";
    public const string Viewer = "viewer";

    /// <summary>The dashboard's own cookie scheme; named so that the REST API can keep its own scheme beside it.</summary>
    public const string Scheme = "Regatta.Dashboard";
    /// <summary>May see every page.</summary>
    public const string ViewPolicy = "Regatta.Dashboard.View";
    /// <summary>May act: approve, reject, create, start, pause, resume, cancel; may open the Orleans dashboard.</summary>
    public const string AdminPolicy = "Regatta.Dashboard.Admin";
}
