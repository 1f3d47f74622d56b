namespace Regatta.Workers;

[GenerateSerializer, Alias("regatta.ApprovalStatus")]
public enum ApprovalStatus { Unregistered, Pending, Approved, Rejected }

[GenerateSerializer, Alias("regatta.Liveness")]
public enum Liveness { Online, Busy, Standby, Offline }

/// <summary>Facts a worker reports about its machine when it registers.</summary>
[GenerateSerializer, Immutable, Alias("regatta.Hardware")]
public sealed record Hardware
{
    /// <summary>cpu or cuda.</summary>
    [Id(0)] public string DeviceKind { get; init; } = "cpu";
    [Id(1)] public string DeviceName { get; init; } = "";
    [Id(2)] public long VramBytes { get; init; }
    [Id(3)] public int CpuCores { get; init; }
    [Id(4)] public long RamBytes { get; init; }
    [Id(5)] public List<string> Capabilities { get; init; } = [];
    [Id(6)] public string AgentVersion { get; init; } = "";
    /// <summary>Bytes the worker offers for serving model blocks; null derives it from the VRAM, 0 serves nothing.</summary>
    [Id(7)] public long? ServeMemoryBytes { get; init; }

    /// <summary>What the layer map plans with: the offer, else 80% of the VRAM (the rest is for activations).</summary>
    public long ServingMemory => ServeMemoryBytes ?? VramBytes / 10 * 8;
}

[GenerateSerializer, Immutable, Alias("regatta.WorkerRegistration")]
public sealed record WorkerRegistration
{
    [Id(0)] public string Name { get; init; } = "";
    [Id(1)] public Hardware Hardware { get; init; } = new();
    /// <summary>A run's join token; a worker presenting one is approved without an operator.</summary>
    [Id(2)] public string? JoinToken { get; init; }
    /// <summary>The run to join once approved, if any.</summary>
    [Id(3)] public string? RunId { get; init; }
}

[GenerateSerializer, Immutable, Alias("regatta.JobProgress")]
public sealed record JobProgress(
    [property: Id(0)] string JobId,
    [property: Id(1)] double Fraction,
    [property: Id(2)] string Message);

[GenerateSerializer, Immutable, Alias("regatta.Heartbeat")]
public sealed record Heartbeat
{
    [Id(0)] public Liveness Status { get; init; } = Liveness.Online;
    [Id(1)] public long TokensServedSinceLast { get; init; }
    [Id(2)] public JobProgress? Progress { get; init; }
    /// <summary>The status word the worker itself sent (an HTTP worker's own vocabulary); null: <see cref="Status"/>.</summary>
    [Id(3)] public string? Reported { get; init; }
}

[GenerateSerializer, Immutable, Alias("regatta.HeartbeatReply")]
public sealed record HeartbeatReply(
    [property: Id(0)] ApprovalStatus Approval,
    [property: Id(1)] Liveness Liveness,
    [property: Id(2)] int PendingAssignments,
    [property: Id(3)] List<string> Runs,
    [property: Id(4)] TimeSpan NextHeartbeat)
{
    /// <summary>The blocks to serve, and of which model version; null when none.</summary>
    [Id(5)] public LayerRange? Layers { get; init; }
    [Id(6)] public string? ModelVersion { get; init; }
}

[GenerateSerializer, Immutable, Alias("regatta.WorkerView")]
public sealed record WorkerView
{
    [Id(0)] public string WorkerId { get; init; } = "";
    [Id(1)] public string Name { get; init; } = "";
    [Id(2)] public Hardware Hardware { get; init; } = new();
    [Id(3)] public ApprovalStatus Approval { get; init; }
    [Id(4)] public Liveness Liveness { get; init; } = Liveness.Offline;
    [Id(5)] public DateTimeOffset RegisteredAt { get; init; }
    [Id(6)] public DateTimeOffset LastSeen { get; init; }
    [Id(7)] public long TokensServed { get; init; }
    [Id(8)] public int JobsDone { get; init; }
    [Id(9)] public int JobsFailed { get; init; }
    [Id(10)] public List<string> RecentJobs { get; init; } = [];
    [Id(11)] public List<string> Runs { get; init; } = [];
    [Id(12)] public JobProgress? Progress { get; init; }
    [Id(13)] public string? RejectReason { get; init; }
    /// <summary>Model blocks [Start, End) this worker serves for inference; null when none.</summary>
    [Id(14)] public LayerRange? Layers { get; init; }
    /// <summary>The served model version the worker's layers belong to.</summary>
    [Id(15)] public string? ModelVersion { get; init; }
    /// <summary>The worker has loaded its layers and answers forward calls.</summary>
    [Id(16)] public bool Serving { get; init; }
    /// <summary>The status word the worker last reported about itself.</summary>
    [Id(17)] public string? ReportedStatus { get; init; }
}

[GenerateSerializer, Immutable, Alias("regatta.LayerRange")]
public sealed record LayerRange([property: Id(0)] int Start, [property: Id(1)] int End)
{
    public int Count => End - Start;
    public bool Contains(int block) => Start <= block && block < End;
    public override string ToString() => $"[{Start},{End})";
}

public static class WorkerLimits
{
    /// <summary>Most tokens one heartbeat may report (REST and Orleans alike).</summary>
    public const long MaxTokensPerHeartbeat = 10_000_000;
}
