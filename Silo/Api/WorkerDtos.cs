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
    /// <summary>Blocks the worker would like to serve. Checked against the model; no layer assignment exists yet, so it is not used.</summary>
    [JsonPropertyName("requested_layers")] public int? RequestedLayers { get; init; }
}

/// <summary>The seed's LayerAssignment plus the worker's token (only in the reply that issues it).</summary>
public sealed record WorkerRegistrationReply(
    [property: JsonPropertyName("worker_id")] string WorkerId,
    [property: JsonPropertyName("worker_token")] string WorkerToken,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("approval")] ApprovalStatus Approval,
    [property: JsonPropertyName("layers_start")] int? LayersStart,
    [property: JsonPropertyName("layers_end")] int? LayersEnd,
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("initial_peers")] List<string> InitialPeers,
    [property: JsonPropertyName("is_idle")] bool IsIdle,
    [property: JsonPropertyName("heartbeat_interval_seconds")] double HeartbeatIntervalSeconds);

/// <summary>POST /api/workers/heartbeat.</summary>
public sealed record HeartbeatRequest
{
    [JsonPropertyName("worker_id")] public string? WorkerId { get; init; }
    [JsonPropertyName("tokens_served_since_last")] public long? TokensServedSinceLast { get; init; }
    /// <summary>online, busy or standby (default online).</summary>
    [JsonPropertyName("status")] public Liveness? Status { get; init; }
}

public sealed record HeartbeatReplyDto(
    [property: JsonPropertyName("worker_id")] string WorkerId,
    [property: JsonPropertyName("worker_status")] ApprovalStatus WorkerStatus,
    [property: JsonPropertyName("status")] Liveness Status,
    [property: JsonPropertyName("layers_start")] int? LayersStart,
    [property: JsonPropertyName("layers_end")] int? LayersEnd,
    [property: JsonPropertyName("pending_assignments")] int PendingAssignments,
    [property: JsonPropertyName("runs")] List<string> Runs,
    [property: JsonPropertyName("next_heartbeat_seconds")] double NextHeartbeatSeconds);

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
    [property: JsonPropertyName("reject_reason")] string? RejectReason)
{
    public static WorkerDto Of(WorkerView v) => new(v.WorkerId, v.Name, v.Hardware.DeviceKind, v.Hardware.DeviceName,
        Math.Round(v.Hardware.VramBytes / WorkerText.BytesPerGb, 2), v.Hardware.CpuCores, WorkerText.Status(v), v.Approval, v.Liveness,
        v.RegisteredAt, v.LastSeen, v.TokensServed, v.JobsDone, v.JobsFailed, v.Layers?.Start, v.Layers?.End, v.Runs, v.RejectReason);
}

public static class WorkerText
{
    public const double BytesPerGb = 1024d * 1024 * 1024;

    /// <summary>The seed's single status word: pending or rejected until approved, then the liveness (online, busy, standby, offline).</summary>
    public static string Status(WorkerView v) => v.Approval switch
    {
        ApprovalStatus.Pending => "pending",
        ApprovalStatus.Rejected => "rejected",
        ApprovalStatus.Unregistered => "unregistered",
        _ => v.Liveness.ToString().ToLowerInvariant(),
    };
}
