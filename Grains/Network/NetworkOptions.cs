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
    /// <summary>Servers wanted per block until an operator sets it.</summary>
    public int Replication { get; set; } = 1;
    // The served transformer's shape (blocks = TotalLayers) and the seed of its initialisation until a run's checkpoint is served.
    public int Vocab { get; set; } = 64;
    public int Width { get; set; } = 64;
    public int Heads { get; set; } = 4;
    public int Context { get; set; } = 128;
    public long Seed { get; set; } = 7;

    public Regatta.Runs.ModelSpec ModelSpec() => new()
    {
        Name = "transformer",
        Parameters = new() { ["vocab"] = Vocab, ["width"] = Width, ["heads"] = Heads, ["blocks"] = TotalLayers, ["context"] = Context },
    };
}
