using System.Text.Json.Serialization;
using Regatta.Workers;

namespace Regatta.Silo.Api;

// The volunteer network's worker messages keep the seed's snake_case field names (worker_id, nickname, hardware_type, ...).

/// <summary>POST /api/workers/register.</summary>
public sealed record WorkerRegistrationRequest
{
    [JsonPropertyName("worker_id")] public string? WorkerId { get; init; }
    [JsonPropertyName("nickname")] public string? Nickname { get; init; }
    /// <summary>cpu or cuda.</summary>
    [JsonPropertyName("hardware_type")] public string? HardwareType { get; init; }
    [JsonPropertyName("device_name")] public string? DeviceName { get; init; }
    [JsonPropertyName("vram_gb")] public double? VramGb { get; init; }
    [JsonPropertyName("cpu_cores")] public int? CpuCores { get; init; }
    [JsonPropertyName("ram_gb")] public double? RamGb { get; init; }
    [JsonPropertyName("agent_version")] public string? AgentVersion { get; init; }
    [JsonPropertyName("capabilities")] public List<string>? Capabilities { get; init; }
    /// <summary>
    /// Blocks the worker would like to serve; checked against the model. Serving needs the Regatta agent's block
    /// server, so a worker registered over HTTP serves no blocks and the reply says the request was not used.
    /// </summary>
    [JsonPropertyName("requested_layers")] public int? RequestedLayers { get; init; }
}

/// <summary>
/// The seed's LayerAssignment, the shape of every registration and heartbeat reply: the blocks to serve (none when
/// <c>is_idle</c>), the served model, the peers to bootstrap from, and the worker's status word.
/// </summary>
public sealed record LayerAssignmentDto(
    [property: JsonPropertyName("layers_start")] int? LayersStart,
    [property: JsonPropertyName("layers_end")] int? LayersEnd,
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("initial_peers")] List<string> InitialPeers,
    [property: JsonPropertyName("is_idle")] bool IsIdle,
    [property: JsonPropertyName("status")] string Status,
    /// <summary>Why the worker serves nothing (yet); null when it serves.</summary>
    [property: JsonPropertyName("standby_reason")] string? StandbyReason)
{
    public static LayerAssignmentDto Of(WorkerView v, string modelName, List<string> peers) =>
        new(v.Layers?.Start, v.Layers?.End, modelName, peers, v.Layers is null, WorkerText.Status(v), WorkerText.StandbyReason(v));
}

/// <summary>The registration reply: the seed's LayerAssignment plus the worker's token (only in the reply that issues it).</summary>
public sealed record WorkerRegistrationReply(
    [property: JsonPropertyName("worker_id")] string WorkerId,
    [property: JsonPropertyName("worker_token")] string WorkerToken,
    [property: JsonPropertyName("approval")] ApprovalStatus Approval,
    [property: JsonPropertyName("heartbeat_interval_seconds")] double HeartbeatIntervalSeconds,
    /// <summary>Fields of the request that were accepted but not used, and why.</summary>
    [property: JsonPropertyName("ignored")] Dictionary<string, string>? Ignored,
    [property: JsonIgnore] LayerAssignmentDto Assignment)
{
    [JsonPropertyName("layers_start")] public int? LayersStart => Assignment.LayersStart;
    [JsonPropertyName("layers_end")] public int? LayersEnd => Assignment.LayersEnd;
    [JsonPropertyName("model_name")] public string ModelName => Assignment.ModelName;
    [JsonPropertyName("initial_peers")] public List<string> InitialPeers => Assignment.InitialPeers;
    [JsonPropertyName("is_idle")] public bool IsIdle => Assignment.IsIdle;
    [JsonPropertyName("status")] public string Status => Assignment.Status;
    [JsonPropertyName("standby_reason")] public string? StandbyReason => Assignment.StandbyReason;
}

/// <summary>POST /api/workers/heartbeat.</summary>
public sealed record HeartbeatRequest
{
    [JsonPropertyName("worker_id")] public string? WorkerId { get; init; }
    [JsonPropertyName("tokens_served_since_last")] public long? TokensServedSinceLast { get; init; }
    /// <summary>
    /// The worker's own status word, recorded as it is (any case): usually the one it was last told (pending,
    /// approved, standby, serving, online, busy, idle, offline). Default online.
    /// </summary>
    [JsonPropertyName("status")] public string? Status { get; init; }
}

/// <summary>The heartbeat reply: the seed's LayerAssignment plus approval polling and the worker's queue.</summary>
public sealed record HeartbeatReplyDto(
    [property: JsonPropertyName("worker_id")] string WorkerId,
    /// <summary>The approval: pending, approved or rejected.</summary>
    [property: JsonPropertyName("worker_status")] ApprovalStatus WorkerStatus,
    [property: JsonPropertyName("liveness")] Liveness Liveness,
    [property: JsonPropertyName("reported_status")] string? ReportedStatus,
    [property: JsonPropertyName("pending_assignments")] int PendingAssignments,
    [property: JsonPropertyName("runs")] List<string> Runs,
    [property: JsonPropertyName("next_heartbeat_seconds")] double NextHeartbeatSeconds,
    [property: JsonIgnore] LayerAssignmentDto Assignment)
{
    [JsonPropertyName("layers_start")] public int? LayersStart => Assignment.LayersStart;
    [JsonPropertyName("layers_end")] public int? LayersEnd => Assignment.LayersEnd;
    [JsonPropertyName("model_name")] public string ModelName => Assignment.ModelName;
    [JsonPropertyName("initial_peers")] public List<string> InitialPeers => Assignment.InitialPeers;
    [JsonPropertyName("is_idle")] public bool IsIdle => Assignment.IsIdle;
    [JsonPropertyName("status")] public string Status => Assignment.Status;
    [JsonPropertyName("standby_reason")] public string? StandbyReason => Assignment.StandbyReason;
}

public sealed record WorkerDto(
    [property: JsonPropertyName("worker_id")] string WorkerId,
    [property: JsonPropertyName("nickname")] string Nickname,
    [property: JsonPropertyName("hardware_type")] string HardwareType,
    [property: JsonPropertyName("device_name")] string DeviceName,
    [property: JsonPropertyName("vram_gb")] double VramGb,
    [property: JsonPropertyName("cpu_cores")] int CpuCores,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("approval")] ApprovalStatus Approval,
    [property: JsonPropertyName("liveness")] Liveness Liveness,
    [property: JsonPropertyName("registered_at")] DateTimeOffset RegisteredAt,
    [property: JsonPropertyName("last_seen")] DateTimeOffset LastSeen,
    [property: JsonPropertyName("tokens_served")] long TokensServed,
    [property: JsonPropertyName("jobs_done")] int JobsDone,
    [property: JsonPropertyName("jobs_failed")] int JobsFailed,
    [property: JsonPropertyName("layers_start")] int? LayersStart,
    [property: JsonPropertyName("layers_end")] int? LayersEnd,
    [property: JsonPropertyName("runs")] List<string> Runs,
    [property: JsonPropertyName("reject_reason")] string? RejectReason,
    [property: JsonPropertyName("reported_status")] string? ReportedStatus,
    [property: JsonPropertyName("serving")] bool Serving)
{
    public static WorkerDto Of(WorkerView v) => new(v.WorkerId, v.Name, v.Hardware.DeviceKind, v.Hardware.DeviceName,
        Math.Round(v.Hardware.VramBytes / WorkerText.BytesPerGb, 2), v.Hardware.CpuCores, WorkerText.Status(v), v.Approval, v.Liveness,
        v.RegisteredAt, v.LastSeen, v.TokensServed, v.JobsDone, v.JobsFailed, v.Layers?.Start, v.Layers?.End, v.Runs, v.RejectReason,
        v.ReportedStatus, v.Serving);
}

public static class WorkerText
{
    public const double BytesPerGb = 1024d * 1024 * 1024;

    /// <summary>
    /// The seed's single status word, as the coordinator sees the worker: pending or rejected until approved; then
    /// offline when its heartbeats stopped, serving once its agent serves its blocks, busy while it works on a job,
    /// and standby otherwise (no blocks, or blocks not served yet).
    /// </summary>
    public static string Status(WorkerView v) => v.Approval switch
    {
        ApprovalStatus.Pending => "pending",
        ApprovalStatus.Rejected => "rejected",
        ApprovalStatus.Unregistered => "unregistered",
        _ when v.Liveness == Liveness.Offline => "offline",
        _ when v.Serving => "serving",
        _ when v.Liveness == Liveness.Busy => "busy",
        _ => "standby",
    };

    /// <summary>Why an approved worker serves no blocks; null when it serves or is not approved.</summary>
    public static string? StandbyReason(WorkerView v) => v switch
    {
        { Approval: not ApprovalStatus.Approved } or { Liveness: Liveness.Offline } or { Serving: true } => null,
        { Layers: { } layers } => $"blocks {layers} are assigned; they count as served once the worker's agent has loaded them and announced its block server",
        { Hardware.ServingMemory: 0 } => "the worker offers no memory for model blocks; a worker registered over HTTP has no block server " +
                                         "(serving blocks needs the Regatta agent), so it stays on standby",
        _ => "no blocks assigned: the layer plan has no range for this worker (see GET /api/network/assignments, 'standby')",
    };
}
