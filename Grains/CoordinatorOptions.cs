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
    /// <summary>
    /// The only place file data sources of a run spec (csv:, idx:, text:) are read from on the silo (its held-out set);
    /// relative paths are taken from here. Null: {DataDir}/datasets.
    /// </summary>
    public string? DataRoot { get; set; }
    /// <summary>Largest model a run spec may ask for, in parameters (the coordinator holds several copies of it).</summary>
    public long MaxModelParameters { get; set; } = 50_000_000;
    /// <summary>Largest data a run spec may ask for, in samples × features per example (generated on the silo and by every member).</summary>
    public long MaxSampleFeatures { get; set; } = 200_000_000;

    /// <summary>A partial upload (blob store) not written for this long is abandoned and deleted by the sweep.</summary>
    public TimeSpan AbandonedUploadAge { get; set; } = TimeSpan.FromHours(1);
    /// <summary>How often the blob store is swept for abandoned uploads.</summary>
    public TimeSpan UploadSweepInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The data root as a full path.</summary>
    public string DataRootPath => Path.GetFullPath(string.IsNullOrWhiteSpace(DataRoot) ? Path.Combine(DataDir, "datasets") : DataRoot);
}
