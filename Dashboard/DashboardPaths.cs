namespace Regatta.Dashboard;

public static class DashboardPaths
{
    /// <summary>Orleans' own dashboard (silos, grain activations, call rates), for admins.</summary>
    public const string OrleansDashboard = "/orleans";

    /// <summary>A checkpoint's files (model.safetensors, config.json) for a signed-in admin; the silo serves them.</summary>
    public static string CheckpointFile(string runId, int round, string file) => $"/files/runs/{Uri.EscapeDataString(runId)}/checkpoints/{round}/{file}";

    public const string CheckpointFiles = "/files/runs";
}
