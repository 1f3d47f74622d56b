using Regatta.Runs;

namespace Regatta.Tests;

public static class Specs
{
    /// <summary>A tiny run that moves in seconds: two members, a short warmup, one witness.</summary>
    public static RunSpec Quick(int rounds = 2, int minClients = 2) => new()
    {
        Name = "quick",
        Model = new ModelSpec { Name = "mlp", Parameters = new() { ["inputs"] = 4, ["hidden"] = 8, ["classes"] = 2 } },
        Data = new DataSpec { Source = "blobs", Partitions = 2, SamplesPerClient = 50, ValidationSamples = 100 },
        Rounds = rounds,
        MinClients = minClients,
        MinUpdates = 1,
        Warmup = TimeSpan.FromMilliseconds(300),
        RoundDeadline = TimeSpan.FromSeconds(20),
        WitnessDeadline = TimeSpan.FromSeconds(20),
        Witnesses = new WitnessSpec { Count = 1, Quorum = 1, LossTolerance = 10 },
        Aggregation = new AggregationSpec { MaxUpdateNorm = 0 },
        Seed = 3,
    };
}
