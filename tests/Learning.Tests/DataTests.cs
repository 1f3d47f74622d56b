using Regatta.Learning.Data;
using Regatta.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Tests;

public class DataTests
{
    private static readonly DataSpec Blobs = new() { Source = "blobs", SamplesPerClient = 400, Partitions = 4, HoldOut = 0.25, ValidationSamples = 200 };

    [Fact]
    public void Partitions_are_deterministic_disjoint_and_split_into_train_and_hold_out()
    {
        var spec = Blobs with { Partitioning = "dirichlet", Alpha = 0.3 };
        var rows = new HashSet<string>();
        long total = 0;
        for (var p = 0; p < spec.Partitions; p++)
        {
            var (train, held) = DataCatalog.Partition(spec, p, seed: 9);
            var (again, heldAgain) = DataCatalog.Partition(spec, p, seed: 9);
            using (train) using (held) using (again) using (heldAgain)
            {
                Assert.True(Same(train.Features, again.Features));
                Assert.True(Same(held.Labels, heldAgain.Labels));
                Assert.InRange(held.Count, (long)(0.2 * (train.Count + held.Count)), (long)(0.3 * (train.Count + held.Count)) + 1);
                foreach (var row in Rows(train).Concat(Rows(held)))
                    Assert.True(rows.Add(row), "an example appears in two partitions");
                total += train.Count + held.Count;
            }
        }
        Assert.Equal(spec.SamplesPerClient * spec.Partitions, total);

        // Partitions and the validation set share one distribution (the same blob centres) but no examples.
        using var validation = DataCatalog.ValidationSet(spec, seed: 9);
        Assert.Equal(200, validation.Count);
        Assert.DoesNotContain(Rows(validation), rows.Contains);
    }

    [Fact]
    public void Dirichlet_partitions_are_skewed_towards_few_classes_unlike_iid()
    {
        double MeanDominantShare(long[][] parts, long[] labels) =>
            parts.Average(p => p.GroupBy(i => labels[i]).Max(g => g.Count()) / (double)p.Length);
        var labels = Enumerable.Range(0, 2000).Select(i => (long)(i % 10)).ToArray();

        var iid = Partitioner.Split(labels, 5, PartitionScheme.Iid, 0, seed: 3);
        var skewed = Partitioner.Split(labels, 5, PartitionScheme.Dirichlet, 0.1, seed: 3);

        Assert.True(MeanDominantShare(iid, labels) < 0.2);
        Assert.True(MeanDominantShare(skewed, labels) > 0.4, $"dominant share {MeanDominantShare(skewed, labels)}");
        foreach (var parts in new[] { iid, skewed })
        {
            Assert.Equal(Enumerable.Range(0, 2000).Select(i => (long)i), parts.SelectMany(p => p).Order());
            Assert.All(parts, p => Assert.True(p.Length >= 10));
        }
        Assert.Equal(skewed, Partitioner.Split(labels, 5, PartitionScheme.Dirichlet, 0.1, seed: 3));
        Assert.NotEqual(skewed, Partitioner.Split(labels, 5, PartitionScheme.Dirichlet, 0.1, seed: 4));
    }

    [Fact]
    public void Even_extreme_skew_leaves_every_partition_a_few_examples()
    {
        var labels = Enumerable.Range(0, 300).Select(i => (long)(i % 3)).ToArray();
        var parts = Partitioner.Split(labels, 10, PartitionScheme.Dirichlet, 0.001, seed: 1);
        Assert.All(parts, p => Assert.True(p.Length >= 10, $"partition of {p.Length}"));
        Assert.Equal(300, parts.Sum(p => p.Length));
    }

    [Fact]
    public void Generators_shape_their_data_for_the_model()
    {
        using var blobs = DataCatalog.ValidationSet(Blobs, 1, ModelTests.Mlp(inputs: 7, classes: 3));
        Assert.Equal([200L, 7], blobs.Features.shape);
        Assert.Equal(3, blobs.Classes);

        using var digits = DataCatalog.ValidationSet(Blobs with { Source = "digits" }, 1, ModelTests.Cnn(size: 28));
        Assert.Equal([200L, 1, 28, 28], digits.Features.shape);
        using var flatDigits = DataCatalog.ValidationSet(Blobs with { Source = "digits" }, 1, ModelTests.Mlp(inputs: 64, classes: 10));
        Assert.Equal([200L, 64], flatDigits.Features.shape);

        using var chars = DataCatalog.ValidationSet(Blobs with { Source = "chars" }, 1, ModelTests.Transformer(context: 16));
        Assert.Equal(DatasetKind.LanguageModel, chars.Kind);
        Assert.Equal([200L, 16], chars.Features.shape);
        Assert.True(Same(chars.Features[.., 1..], chars.Labels[.., ..15]), "labels are the next tokens");
        Assert.True(chars.Features.max().item<long>() < 28);
    }

    [Fact]
    public void No_validation_samples_gives_an_empty_set_that_evaluates_to_nothing()
    {
        var model = ModelTests.Mlp();
        using var empty = DataCatalog.ValidationSet(Blobs with { ValidationSamples = 0 }, 1, model);
        using var module = Regatta.Learning.Models.ModelCatalog.Create(model, 1);
        Assert.Equal(0, empty.Count);
        Assert.Equal(new Regatta.Learning.Training.EvalResult(0, 0, 0), Regatta.Learning.Training.Evaluator.Evaluate(module, empty, CPU));
    }

    [Fact]
    public void Validate_explains_bad_specs()
    {
        Assert.Empty(DataCatalog.Validate(Blobs));
        Assert.Contains("data.source: unknown generator 'foo' (known: blobs, digits, chars, csv:, idx:, text:)", DataCatalog.Validate(Blobs with { Source = "foo" }));
        Assert.Contains("data.source: expected idx:IMAGES_PATH,LABELS_PATH", DataCatalog.Validate(Blobs with { Source = "idx:only-one" }));
        Assert.Contains("data.source: expected csv:PATH", DataCatalog.Validate(Blobs with { Source = "csv:" }));
        Assert.Contains("data.partitioning: unknown scheme 'random' (known: iid, dirichlet)", DataCatalog.Validate(Blobs with { Partitioning = "random" }));
        Assert.Contains("data.alpha: must be > 0", DataCatalog.Validate(Blobs with { Alpha = 0 }));
        Assert.Contains("data.holdOut: must be >= 0 and < 1", DataCatalog.Validate(Blobs with { HoldOut = 1 }));
        Assert.Contains("data.partitions: must be between 1 and 100000", DataCatalog.Validate(Blobs with { Partitions = 0 }));

        Assert.Contains(DataCatalog.Validate(Blobs, ModelTests.Transformer()), e => e.StartsWith("data.source: blobs is classification data"));
        Assert.Contains(DataCatalog.Validate(Blobs with { Source = "digits" }, ModelTests.Mlp(inputs: 10, classes: 10)), e => e.StartsWith("data.source: digits are 1×S×S images"));
        Assert.Contains(DataCatalog.Validate(Blobs with { Source = "chars" }, ModelTests.Transformer() with { Parameters = new(ModelTests.Transformer().Parameters) { ["vocab"] = 10 } }),
            e => e.StartsWith("data.source: chars uses 28 tokens"));
        Assert.Throws<ArgumentException>(() => DataCatalog.Partition(Blobs with { Source = "foo" }, 0, 1));
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static IEnumerable<string> Rows(Dataset data)
    {
        var values = data.Features.data<float>().ToArray();
        var width = (int)(values.Length / data.Count);
        for (var i = 0; i < data.Count; i++)
            yield return string.Join(',', values.AsSpan(i * width, width).ToArray());
    }
}
