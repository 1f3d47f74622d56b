using Regatta.Jobs;
using Regatta.Workers;

namespace Regatta.Grains.Workers;

[GenerateSerializer, Alias("regatta.WorkerData")]
public sealed class WorkerData
{
    [Id(0)] public string Name { get; set; } = "";
    [Id(1)] public Hardware Hardware { get; set; } = new();
    [Id(2)] public ApprovalStatus Approval { get; set; } = ApprovalStatus.Unregistered;
    [Id(3)] public Liveness Liveness { get; set; } = Liveness.Offline;
    [Id(4)] public DateTimeOffset RegisteredAt { get; set; }
    [Id(5)] public DateTimeOffset LastSeen { get; set; }
    [Id(6)] public long TokensServed { get; set; }
    [Id(7)] public int JobsDone { get; set; }
    [Id(8)] public int JobsFailed { get; set; }
    [Id(9)] public List<string> RecentJobs { get; set; } = [];
    [Id(10)] public HashSet<string> Runs { get; set; } = [];
    [Id(11)] public JobProgress? Progress { get; set; }
    [Id(12)] public string? RejectReason { get; set; }
    [Id(13)] public LayerRange? Layers { get; set; }
    /// <summary>Jobs handed to this worker and not yet closed, in order.</summary>
    [Id(14)] public List<Assignment> Assignments { get; set; } = [];
    /// <summary>Job ids of assignments already delivered to the agent since it last registered.</summary>
    [Id(15)] public HashSet<string> Delivered { get; set; } = [];
    /// <summary>The served model version <see cref="Layers"/> belong to.</summary>
    [Id(16)] public string? ModelVersion { get; set; }
    /// <summary>The status word the worker last reported about itself.</summary>
    [Id(17)] public string? ReportedStatus { get; set; }
}
