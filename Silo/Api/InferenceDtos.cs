using System.Text.Json.Serialization;
using Regatta.Network;

namespace Regatta.Silo.Api;

public sealed record GenerateRequestDto
{
    [JsonPropertyName("user_id")] public string? UserId { get; init; }
    [JsonPropertyName("prompt_tokens")] public List<int>? PromptTokens { get; init; }
    [JsonPropertyName("max_new_tokens")] public int? MaxNewTokens { get; init; }
    [JsonPropertyName("temperature")] public double? Temperature { get; init; }
    [JsonPropertyName("top_k")] public int? TopK { get; init; }
    [JsonPropertyName("seed")] public long? Seed { get; init; }
    /// <summary>Text to encode with the served model's tokenizer (instead of prompt_tokens).</summary>
    [JsonPropertyName("prompt")] public string? Prompt { get; init; }
    /// <summary>Wrap the prompt as a user message in the model's chat template.</summary>
    [JsonPropertyName("chat")] public bool? Chat { get; init; }
    /// <summary>Stop at the model's end-of-sequence token; default: true for a text prompt.</summary>
    [JsonPropertyName("stop_at_eos")] public bool? StopAtEos { get; init; }
    /// <summary>Keep a key/value cache on each hop (default true where the model supports it).</summary>
    [JsonPropertyName("sessions")] public bool? Sessions { get; init; }
}

public sealed record HopDto(
    [property: JsonPropertyName("worker_id")] string WorkerId,
    [property: JsonPropertyName("layers_start")] int LayersStart,
    [property: JsonPropertyName("layers_end")] int LayersEnd,
    [property: JsonPropertyName("ms")] double Milliseconds);

/// <summary>One streamed token (server-sent event "token").</summary>
public sealed record TokenEventDto(
    [property: JsonPropertyName("token")] int Token,
    [property: JsonPropertyName("text")] string? Text);

public sealed record GenerateResultDto(
    [property: JsonPropertyName("request_id")] string RequestId,
    [property: JsonPropertyName("tokens")] List<int> Tokens,
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens,
    [property: JsonPropertyName("worker_ids")] List<string> WorkerIds,
    [property: JsonPropertyName("retries")] int Retries,
    [property: JsonPropertyName("model_version")] string ModelVersion,
    [property: JsonPropertyName("elapsed_ms")] double ElapsedMs,
    [property: JsonPropertyName("text")] string? Text,
    [property: JsonPropertyName("sessions")] bool Sessions,
    [property: JsonPropertyName("chain")] List<HopDto> Chain)
{
    public static GenerateResultDto Of(GenerationResult r) =>
        new(r.RequestId, r.Tokens, r.PromptTokens, r.CompletionTokens, r.WorkerIds, r.Retries, r.ModelVersion, Math.Round(r.Elapsed.TotalMilliseconds, 1),
            r.Text, r.Sessions, [.. r.Chain.Select(h => new HopDto(h.WorkerId, h.From, h.To, h.Milliseconds))]);
}

public sealed record AssignmentDto(
    [property: JsonPropertyName("worker_id")] string WorkerId,
    [property: JsonPropertyName("layers_start")] int LayersStart,
    [property: JsonPropertyName("layers_end")] int LayersEnd,
    /// <summary>The worker's agent has announced it serves these layers (until then they count as not covered).</summary>
    [property: JsonPropertyName("serving")] bool Serving);

public sealed record LayerMapDto(
    [property: JsonPropertyName("model_version")] string ModelVersion,
    [property: JsonPropertyName("model_source")] string ModelSource,
    [property: JsonPropertyName("total_layers")] int TotalLayers,
    [property: JsonPropertyName("quantization")] string Quantization,
    [property: JsonPropertyName("bytes_per_layer")] long BytesPerLayer,
    [property: JsonPropertyName("replication_target")] int ReplicationTarget,
    [property: JsonPropertyName("replicas")] List<int> Replicas,
    [property: JsonPropertyName("coverage_percent")] double CoveragePercent,
    [property: JsonPropertyName("ready_for_inference")] bool ReadyForInference,
    [property: JsonPropertyName("recommended_workers")] int RecommendedWorkers,
    [property: JsonPropertyName("assignments")] List<AssignmentDto> Assignments,
    [property: JsonPropertyName("standby")] Dictionary<string, string> Standby,
    [property: JsonPropertyName("planned_at")] DateTimeOffset? PlannedAt,
    [property: JsonPropertyName("serving_replicas")] List<int> ServingReplicas,
    [property: JsonPropertyName("planned_coverage_percent")] double PlannedCoveragePercent)
{
    public static LayerMapDto Of(LayerMapView v, ServedModel model) => new(v.ModelVersion, model.Source, v.Blocks, v.Quantization, v.BytesPerBlock,
        v.ReplicationTarget, v.Replicas, v.CoveragePercent, v.ReadyForInference, v.RecommendedWorkers,
        [.. v.Assignments.OrderBy(a => a.Value.Start).ThenBy(a => a.Key, StringComparer.Ordinal)
            .Select(a => new AssignmentDto(a.Key, a.Value.Start, a.Value.End, v.Serving.ContainsKey(a.Key)))],
        v.Standby, v.PlannedAt, v.ServingReplicas, v.PlannedCoveragePercent);
}

public sealed record ServedModelDto(
    [property: JsonPropertyName("model_version")] string ModelVersion,
    [property: JsonPropertyName("model_source")] string ModelSource,
    [property: JsonPropertyName("total_layers")] int TotalLayers,
    [property: JsonPropertyName("vocab")] int Vocab,
    [property: JsonPropertyName("context")] int Context,
    [property: JsonPropertyName("parameters_per_layer")] long ParametersPerLayer,
    [property: JsonPropertyName("architecture")] string Architecture,
    [property: JsonPropertyName("dtype")] string DType,
    [property: JsonPropertyName("tokenizer")] bool Tokenizer,
    [property: JsonPropertyName("sessions")] bool Sessions)
{
    public static ServedModelDto Of(ServedModel m) => new(m.Version, m.Source, m.Blocks, m.Vocab, m.Context, m.ParametersPerBlock,
        m.Spec.Name, m.DType, m.TokenizerHash is not null, m.Sessions);
}
