using Regatta.Learning.Data;
using Regatta.Runs;
using Regatta.WorkerAgent;
using static TorchSharp.torch;

namespace Regatta.Tests;

/// <summary>A simulation's clients take their partitions from one pool: each gets exactly what a real agent would build alone.</summary>
public sealed class SharedPartitionsTests
{
    private static bool Same(Tensor x, Tensor y) => x.shape.SequenceEqual(y.shape) && x.eq(y).all().item<bool>();

    [Fact]
    public void Every_client_gets_the_partition_a_real_agent_builds_for_itself_and_runs_keep_their_own_data()
    {
        var digits = new DataSpec { Source = "digits", Partitioning = "dirichlet", Alpha = 0.1, Partitions = 5, SamplesPerClient = 40, HoldOut = 0.25 };
        var model = new ModelSpec { Name = "cnn", Parameters = new() { ["channels"] = 1, ["size"] = 8, ["classes"] = 10, ["filters"] = 4 } };
        var a = new RunSpec { Name = "a", Model = model, Data = digits, Seed = 3 };
        var b = a with { Seed = 4 };
        using var shared = new SharedPartitions();

        for (var p = 0; p < digits.Partitions; p++)
        {
            var (train, held) = shared.Take("run-a", a.Data, a, p);
            var (ownTrain, ownHeld) = DataCatalog.Partition(a.Data, p, a.Seed, a.Model);
            using (train) using (held) using (ownTrain) using (ownHeld)
            {
                Assert.True(Same(train.Features, ownTrain.Features) && Same(train.Labels, ownTrain.Labels), $"partition {p}: training part");
                Assert.True(Same(held.Features, ownHeld.Features) && Same(held.Labels, ownHeld.Labels), $"partition {p}: held-out part");
            }
        }
        // Another run (another seed) is not served from the first run's pool.
        var (otherTrain, otherHeld) = shared.Take("run-b", b.Data, b, 0);
        var (firstTrain, firstHeld) = shared.Take("run-a", a.Data, a, 0);
        using (otherTrain) using (otherHeld) using (firstTrain) using (firstHeld)
        {
            var (expected, expectedHeld) = DataCatalog.Partition(b.Data, 0, b.Seed, b.Model);
            using (expected) using (expectedHeld)
                Assert.True(Same(otherTrain.Features, expected.Features));
            Assert.False(otherTrain.Count == firstTrain.Count && Same(otherTrain.Features, firstTrain.Features));
        }
    }
}
