using Regatta.Learning.Data;
using Regatta.Learning.Models;
using Regatta.Learning.Training;
using Regatta.Runs;
using static TorchSharp.torch;

namespace Regatta.Tests;

/// <summary>The yardsticks of the main job: each partition trained alone, and all of them pooled.</summary>
public class BaselinesTests
{
    /// <summary>The main job's task (deploy/examples/digits-cnn.yaml) with fewer rounds.</summary>
    private static RunSpec SkewedDigits(int partitions = 3) => new()
    {
        Model = new ModelSpec { Name = "cnn", Parameters = new() { ["channels"] = 1, ["size"] = 8, ["classes"] = 10, ["filters"] = 8 } },
        Data = new DataSpec { Source = "digits", Partitioning = "dirichlet", Alpha = 0.1, Partitions = partitions, SamplesPerClient = 600, ValidationSamples = 1000 },
        Training = new TrainingSpec { LocalEpochs = 2, BatchSize = 32, LearningRate = 0.2 },
        Seed = 11,
    };

    [Fact]
    public void Under_a_strong_label_skew_every_partition_alone_stays_far_below_the_pooled_model_and_the_result_is_reproducible()
    {
        var spec = SkewedDigits();

        var first = Baselines.Measure(spec, rounds: 5, parallelism: 2, ct: TestContext.Current.CancellationToken);
        var again = Baselines.Measure(spec, rounds: 5, ct: TestContext.Current.CancellationToken);

        Assert.Equal(3, first.LocalOnly.Count);
        Assert.InRange(first.InitialAccuracy, 0, 0.25); // ten classes
        Assert.True(first.Centralized > 0.9, $"pooled {first.Centralized}");
        // Each partition misses or hardly holds some digits: alone, none gets near the pooled model.
        Assert.All(first.LocalOnly, a => Assert.True(a < first.Centralized - 0.15, $"alone {a} vs pooled {first.Centralized}"));
        Assert.Equal(first.LocalOnly.Average(), first.LocalOnlyMean, 9);
        // Side by side or one after another, the same seeds give the same models.
        Assert.Equal(first.LocalOnly, again.LocalOnly);
        Assert.Equal(first.Centralized, again.Centralized);
    }

    [Fact]
    public void Concat_keeps_every_example_in_order()
    {
        var spec = SkewedDigits();
        var parts = Enumerable.Range(0, 3).Select(p => DataCatalog.Partition(spec.Data, p, spec.Seed, spec.Model).Train).ToList();
        using var pooled = Dataset.Concat(parts);
        Assert.Equal(parts.Sum(p => p.Count), pooled.Count);
        Assert.Equal(parts.SelectMany(p => p.Strata()), pooled.Strata());
        Assert.Equal(parts[0].ExampleShape, pooled.ExampleShape);
        foreach (var p in parts) p.Dispose();
    }
}
