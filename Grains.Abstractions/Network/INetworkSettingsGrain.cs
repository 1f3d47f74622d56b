namespace Regatta.Network;

/// <summary>
/// The volunteer inference network's settings: the served model (from configuration) and the operator's choices
/// (quantization mode, target worker count). Key: 0, there is one network per cluster.
/// </summary>
[Alias("regatta.INetworkSettingsGrain")]
public interface INetworkSettingsGrain : IGrainWithIntegerKey
{
    [Alias("Get")] Task<NetworkSettings> Get();
    /// <summary>Throws RegattaException("bad_quantization") for a mode not in <see cref="NetworkLimits.QuantizationModes"/>.</summary>
    [Alias("SetQuantization")] Task<NetworkSettings> SetQuantization(string mode);
    /// <summary>Throws RegattaException("bad_target_workers") outside [1, <see cref="NetworkLimits.MaxTargetWorkers"/>].</summary>
    [Alias("SetTargetWorkers")] Task<NetworkSettings> SetTargetWorkers(int count);
}

[GenerateSerializer, Alias("regatta.NetworkSettings")]
public sealed record NetworkSettings
{
    /// <summary>The model served for inference.</summary>
    [Id(0)] public string ModelName { get; init; } = "";
    /// <summary>Its number of blocks (layers) that workers split between them.</summary>
    [Id(1)] public int TotalLayers { get; init; }
    /// <summary>none, int8 or nf4: how workers load their blocks (it decides how many fit in their VRAM).</summary>
    [Id(2)] public string Quantization { get; init; } = "none";
    /// <summary>The number of workers the operator wants serving the model.</summary>
    [Id(3)] public int TargetWorkers { get; init; }
    [Id(4)] public DateTimeOffset? UpdatedAt { get; init; }
}

public static class NetworkLimits
{
    public static IReadOnlyList<string> QuantizationModes { get; } = ["none", "int8", "nf4"];
    public const int MaxTargetWorkers = 10_000;
}
