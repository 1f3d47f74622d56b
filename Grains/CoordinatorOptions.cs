namespace Regatta.Grains;

/// <summary>Timings of the coordinator, bound from configuration section "Regatta".</summary>
public sealed class CoordinatorOptions
{
    public const string Section = "Regatta";

    /// <summary>How often an active run ticks.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>How often the reminder wakes a run that is not terminal (it only matters after a deactivation or silo loss).</summary>
    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);
    /// <summary>A worker with no heartbeat for this long is Offline.</summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(60);
    /// <summary>The heartbeat interval the coordinator asks agents to keep.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>How long one hop of an inference request may take before the worker is replaced and the hop retried.</summary>
    public TimeSpan ForwardTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>Where blobs (model versions, updates, kits) are kept.</summary>
    public string DataDir { get; set; } = "data";
}
