using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Network;

/// <summary>
/// The inference network's layer map: the served model, split into parts, and which contiguous block range each
/// approved, online worker holds. Workers report changes to their eligibility; the map re-plans and tells each
/// worker whose range moved. Key: 0.
/// </summary>
[Alias("regatta.ILayerMapGrain")]
public interface ILayerMapGrain : IGrainWithIntegerKey
{
    /// <summary>A worker's serving facts changed (approval, liveness, memory offered); re-plans if that matters.</summary>
    [Alias("WorkerChanged"), OneWay] Task WorkerChanged(ServingCandidate candidate);
    /// <summary>
    /// A worker's agent announced a block server for <paramref name="layers"/> of <paramref name="modelVersion"/>
    /// (again with every heartbeat), or stopped serving (both null). Only announced blocks count as served.
    /// </summary>
    [Alias("WorkerServing"), OneWay] Task WorkerServing(string workerId, string? modelVersion, LayerRange? layers);
    /// <summary>Re-plans with the current settings (quantization, replication target).</summary>
    [Alias("Replan")] Task<LayerMapView> Replan();
    [Alias("GetView")] Task<LayerMapView> GetView();
    /// <summary>The served model: its spec, version and the content hashes of its parts.</summary>
    [Alias("GetModel")] Task<ServedModel> GetModel();
    /// <summary>Serves a seeded initialisation of the configured transformer.</summary>
    [Alias("ServeSeed")] Task<ServedModel> ServeSeed(long seed);
    /// <summary>Serves a training run's latest checkpoint (its model must be a transformer).</summary>
    [Alias("ServeCheckpoint")] Task<ServedModel> ServeCheckpoint(string runId, int? round = null);
    /// <summary>Serves a Hugging Face model folder on the silo (config.json, safetensors, tokenizer); throws RegattaException("bad_model_folder") naming what is wrong.</summary>
    [Alias("ServeFolder")] Task<ServedModel> ServeFolder(string path);
}

/// <summary>What the layer map needs to know about one worker.</summary>
[GenerateSerializer, Alias("regatta.ServingCandidate")]
public sealed record ServingCandidate(
    [property: Id(0)] string WorkerId,
    /// <summary>Approved and not offline.</summary>
    [property: Id(1)] bool Eligible,
    /// <summary>Bytes of device memory the worker offers for blocks.</summary>
    [property: Id(2)] long MemoryBytes);

/// <summary>
/// A model the network serves. Parts: index 0 is the embedding, 1..Blocks the blocks, Blocks+1 the final norm and
/// head; each part is a content-addressed weights blob, so a worker downloads only the parts of its range.
/// </summary>
[GenerateSerializer, Alias("regatta.ServedModel")]
public sealed record ServedModel
{
    /// <summary>Changes whenever the weights change: the hash of the whole model's weights.</summary>
    [Id(0)] public string Version { get; init; } = "";
    [Id(1)] public ModelSpec Spec { get; init; } = new();
    [Id(2)] public int Blocks { get; init; }
    [Id(3)] public int Vocab { get; init; }
    [Id(4)] public int Context { get; init; }
    [Id(5)] public List<string> PartHashes { get; init; } = [];
    /// <summary>float32 parameters in one block (all blocks are alike).</summary>
    [Id(6)] public long ParametersPerBlock { get; init; }
    /// <summary>Where the weights come from: "seed:N", "run:ID@round" or "folder:PATH".</summary>
    [Id(7)] public string Source { get; init; } = "";
    /// <summary>The config.json of a Hugging Face model (its parts are safetensors files); null for Regatta's own transformer.</summary>
    [Id(8)] public string? HfConfig { get; init; }
    /// <summary>Values per position in the hidden states passed between hops.</summary>
    [Id(9)] public int Width { get; init; }
    /// <summary>Content hash of the tokenizer files (a JSON object name → base64), when the model has them.</summary>
    [Id(10)] public string? TokenizerHash { get; init; }
    /// <summary>The dtype of the weights as published: float32, float16 or bfloat16.</summary>
    [Id(11)] public string DType { get; init; } = "float32";
    /// <summary>Hops keep a key/value cache per session, so each new token costs one position per block.</summary>
    [Id(12)] public bool Sessions { get; init; }
    /// <summary>Bytes one block caches per token of a session (in the weights' dtype).</summary>
    [Id(13)] public long CacheBytesPerTokenPerBlock { get; init; }
    /// <summary>Tokens that end a generation (the model's end-of-sequence ids).</summary>
    [Id(14)] public List<int> EosTokens { get; init; } = [];
}

[GenerateSerializer, Alias("regatta.LayerMapView")]
public sealed record LayerMapView
{
    [Id(0)] public string ModelVersion { get; init; } = "";
    [Id(1)] public int Blocks { get; init; }
    [Id(2)] public string Quantization { get; init; } = "none";
    [Id(3)] public int ReplicationTarget { get; init; }
    /// <summary>Worker id → the blocks it holds; workers in <see cref="Standby"/> hold none.</summary>
    [Id(4)] public Dictionary<string, LayerRange> Assignments { get; init; } = new();
    [Id(5)] public Dictionary<string, string> Standby { get; init; } = new();
    /// <summary>Planned servers per block, index = block.</summary>
    [Id(6)] public List<int> Replicas { get; init; } = [];
    /// <summary>Share of blocks with at least one worker actually serving them (see <see cref="Serving"/>).</summary>
    [Id(7)] public double CoveragePercent { get; init; }
    /// <summary>Every block has a serving worker: requests can be routed.</summary>
    [Id(8)] public bool ReadyForInference { get; init; }
    [Id(9)] public int RecommendedWorkers { get; init; }
    [Id(10)] public long BytesPerBlock { get; init; }
    [Id(11)] public DateTimeOffset? PlannedAt { get; init; }
    /// <summary>
    /// The assignments whose worker's agent has announced a block server for exactly that range: a worker is
    /// assigned blocks first, loads them, then serves; an HTTP-only worker never serves.
    /// </summary>
    [Id(12)] public Dictionary<string, LayerRange> Serving { get; init; } = new();
    /// <summary>Serving workers per block, index = block.</summary>
    [Id(13)] public List<int> ServingReplicas { get; init; } = [];
    /// <summary>Share of blocks the plan assigns to at least one worker.</summary>
    [Id(14)] public double PlannedCoveragePercent { get; init; }

    public int CoveredBlocks => ServingReplicas.Count(r => r > 0);

    /// <summary>The workers serving <paramref name="block"/>, by id.</summary>
    public List<string> ServersOf(int block) =>
        [.. Serving.Where(s => s.Value.Contains(block)).Select(s => s.Key).Order(StringComparer.Ordinal)];
}
