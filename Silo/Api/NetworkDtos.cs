using System.Text.Json.Serialization;

namespace Regatta.Silo.Api;

// The volunteer network's responses keep the seed's snake_case field names.

public sealed record ApiStatusDto(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("service")] string Service,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("time")] DateTimeOffset Time,
    [property: JsonPropertyName("online_workers")] int OnlineWorkers,
    [property: JsonPropertyName("pending_workers")] int PendingWorkers,
    [property: JsonPropertyName("total_workers")] int TotalWorkers,
    [property: JsonPropertyName("total_runs")] int TotalRuns,
    [property: JsonPropertyName("active_runs")] int ActiveRuns);

public sealed record NetworkInfoDto(
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("total_layers")] int TotalLayers,
    [property: JsonPropertyName("bootstrap_peers")] List<string> BootstrapPeers,
    [property: JsonPropertyName("online_workers")] int OnlineWorkers,
    [property: JsonPropertyName("serving_workers")] int ServingWorkers,
    [property: JsonPropertyName("coverage_percent")] double CoveragePercent,
    [property: JsonPropertyName("ready_for_inference")] bool ReadyForInference,
    [property: JsonPropertyName("quantization")] string Quantization,
    [property: JsonPropertyName("target_workers")] int TargetWorkers);

public sealed record NetworkHealthDto(
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("total_layers")] int TotalLayers,
    [property: JsonPropertyName("covered_layers")] int CoveredLayers,
    [property: JsonPropertyName("coverage_percent")] double CoveragePercent,
    [property: JsonPropertyName("ready_for_inference")] bool ReadyForInference,
    [property: JsonPropertyName("uncovered_layers")] List<int> UncoveredLayers,
    [property: JsonPropertyName("layers")] List<LayerCoverageDto> Layers,
    [property: JsonPropertyName("serving_workers")] int ServingWorkers,
    [property: JsonPropertyName("online_workers")] int OnlineWorkers,
    [property: JsonPropertyName("planned_coverage_percent")] double PlannedCoveragePercent);

/// <summary>One block of the model: how many workers serve it, and which.</summary>
public sealed record LayerCoverageDto(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("replicas")] int Replicas,
    [property: JsonPropertyName("workers")] List<string> Workers);

public sealed record NetworkStatsDto(
    [property: JsonPropertyName("total_workers")] int TotalWorkers,
    [property: JsonPropertyName("online_workers")] int OnlineWorkers,
    [property: JsonPropertyName("pending_workers")] int PendingWorkers,
    [property: JsonPropertyName("offline_workers")] int OfflineWorkers,
    [property: JsonPropertyName("serving_workers")] int ServingWorkers,
    [property: JsonPropertyName("total_tokens_served")] long TotalTokensServed,
    [property: JsonPropertyName("coverage_percent")] double CoveragePercent,
    [property: JsonPropertyName("ready_for_inference")] bool ReadyForInference,
    [property: JsonPropertyName("quantization")] string Quantization,
    [property: JsonPropertyName("target_workers")] int TargetWorkers,
    [property: JsonPropertyName("total_users")] long TotalUsers,
    [property: JsonPropertyName("total_requests")] long TotalRequests,
    [property: JsonPropertyName("total_prompt_tokens")] long TotalPromptTokens,
    [property: JsonPropertyName("total_completion_tokens")] long TotalCompletionTokens,
    [property: JsonPropertyName("total_runs")] int TotalRuns,
    [property: JsonPropertyName("active_runs")] int ActiveRuns);

public sealed record NetworkSettingsDto(
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("total_layers")] int TotalLayers,
    [property: JsonPropertyName("quantization")] string Quantization,
    [property: JsonPropertyName("target_workers")] int TargetWorkers,
    [property: JsonPropertyName("replication_target")] int ReplicationTarget,
    [property: JsonPropertyName("updated_at")] DateTimeOffset? UpdatedAt)
{
    public static NetworkSettingsDto Of(Network.NetworkSettings s) => new(s.ModelName, s.TotalLayers, s.Quantization, s.TargetWorkers, s.Replication, s.UpdatedAt);
}

public sealed record TargetWorkersDto(
    [property: JsonPropertyName("target_workers")] int TargetWorkers,
    [property: JsonPropertyName("online_workers")] int OnlineWorkers);
