namespace Regatta.Grains.Network;

/// <summary>The inference network's model and default settings, bound from configuration section "Regatta:Network".</summary>
public sealed class NetworkOptions
{
    public const string Section = "Regatta:Network";

    /// <summary>The model served for inference.</summary>
    public string ModelName { get; set; } = "transformer";
    /// <summary>Its number of blocks; coverage is computed over blocks 0..TotalLayers-1.</summary>
    public int TotalLayers { get; set; } = 8;
    /// <summary>Target worker count until an operator sets one.</summary>
    public int TargetWorkers { get; set; } = 3;
}
