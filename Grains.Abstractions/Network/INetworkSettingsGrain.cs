namespace Regatta.Network;

/// <summary>
/// The volunteer inference network's settings: the served model (from configuration) and the operator's choices
/// (quantization mode, target worker count). Key: 0, there is one network per cluster.
/// </summary>
[Alias("regatta.INetworkSettingsGrain")]
public interface INetworkSettingsGrain : IGrainWithIntegerKey
{
    /// <summary>Interleaves: the layer map reads the settings while a setting's change waits for its re-plan.</summary>
    [Alias("Get"), AlwaysInterleave] Task<NetworkSettings> Get();
    /// <summary>Throws RegattaException("bad_quantization") for a mode not in <see cref="NetworkLimits.QuantizationModes"/>.</summary>
    [Alias("SetQuantization")] Task<NetworkSettings> SetQuantization(string mode);
    /// <summary>Throws RegattaException("bad_target_workers") outside [1, <see cref="NetworkLimits.MaxTargetWorkers"/>].</summary>
    [Alias("SetTargetWorkers")] Task<NetworkSettings> SetTargetWorkers(int count);
    /// <summary>Throws RegattaException("bad_replication") outside [1, <see cref="NetworkLimits.MaxReplication"/>].</summary>
    [Alias("SetReplication")] Task<NetworkSettings> SetReplication(int replicas);
}

[GenerateSerializer, Alias("regatta.NetworkSettings")]
public sealed record NetworkSettings
{
    /// <summary>The model served for inference.</summary>
    [Id(0)] public string ModelName { get; init; } = "";
    /// <summary>Its number of blocks (layers) that workers split between them.</summary>
    [Id(1)] public int TotalLayers { get; init; }
    /// <summary>How workers hold their blocks (<see cref="NetworkLimits.QuantizationModes"/>); it decides how many fit in their memory.</summary>
    [Id(2)] public string Quantization { get; init; } = "none";
    /// <summary>The number of workers the operator wants serving the model.</summary>
    [Id(3)] public int TargetWorkers { get; init; }
    [Id(4)] public DateTimeOffset? UpdatedAt { get; init; }
    /// <summary>Servers wanted per block; the layer map spreads workers to reach it where capacity allows.</summary>
    [Id(5)] public int Replication { get; init; } = 1;
}

public static class NetworkLimits
{
    /// <summary>none is float32 (the seed's name for "not quantized").</summary>
    public static IReadOnlyList<string> QuantizationModes { get; } = ["none", "float32", "float16", "bfloat16", "int8", "nf4"];
    public const int MaxTargetWorkers = 10_000;
    public const int MaxReplication = 64;

    /// <summary>
    /// Bytes one parameter takes on a worker in this mode; "none" keeps the weights' own dtype. int8 and nf4 have no
    /// integer kernels yet: agents hold those blocks in the published dtype, so they are planned at that size.
    /// </summary>
    public static double BytesPerParameter(string mode, string modelDType) =>
        mode is "none" or "int8" or "nf4" && modelDType is "float16" or "bfloat16" ? 2 : BytesPerParameter(mode);

    /// <summary>Bytes one parameter takes on a worker in this mode, for float32 weights.</summary>
    public static double BytesPerParameter(string mode) => mode switch
    {
        "none" or "float32" or "int8" or "nf4" => 4,
        "float16" or "bfloat16" => 2,
        _ => throw new RegattaException("bad_quantization", $"mode: must be one of {string.Join(", ", QuantizationModes)}"),
    };
}
