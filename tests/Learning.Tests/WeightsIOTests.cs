using Regatta.Learning.Models;
using Regatta.Learning.Weights;

namespace Regatta.Tests;

public class WeightsIOTests
{
    [Fact]
    public void Read_then_load_into_another_model_reproduces_the_weights()
    {
        using var source = ModelCatalog.Create(ModelTests.Transformer(), 1);
        using var target = ModelCatalog.Create(ModelTests.Transformer(), 2);
        var weights = WeightsIO.Read(source);

        WeightsIO.Load(target, weights);

        var loaded = WeightsIO.Read(target);
        Assert.Equal(ModelWeights.Hash(weights.ToBytes()), ModelWeights.Hash(loaded.ToBytes()));
        Assert.Equal("tokens.weight", weights.Tensors[0].Name);
        Assert.Contains(weights.Tensors, t => t.Name == "blocks.2.qkv.weight" && t.Shape.SequenceEqual([96, 32]));
    }

    [Fact]
    public void Loading_weights_of_another_layout_is_refused_with_the_difference()
    {
        using var small = ModelCatalog.Create(ModelTests.Mlp(hidden: 8), 1);
        using var large = ModelCatalog.Create(ModelTests.Mlp(hidden: 16), 1);

        var error = Assert.Throws<ArgumentException>(() => WeightsIO.Load(small, WeightsIO.Read(large)));

        Assert.Contains("weights do not fit this model", error.Message);
        Assert.Contains("hidden.0.weight", error.Message);
        Assert.Contains("[8,2]", error.Message);
    }

    [Fact]
    public void Delta_and_apply_are_inverse()
    {
        var global = new ModelWeights([new NamedTensor("w", [2, 2], [1, 2, 3, 4]), new NamedTensor("b", [2], [0, 0])]);
        var local = new ModelWeights([new NamedTensor("w", [2, 2], [2, 2, 2, 2]), new NamedTensor("b", [2], [1, -1])]);

        var delta = UpdateMath.Delta(local, global);

        Assert.Equal([1f, 0, -1, -2, 1, -1], delta.Flatten());
        Assert.Equal(local.Flatten(), UpdateMath.Apply(global, delta).Flatten());
        Assert.Equal([1.5f, 2, 2.5f, 3, 0.5f, -0.5f], UpdateMath.Apply(global, delta, 0.5f).Flatten());
        Assert.Equal(Math.Sqrt(8), UpdateMath.Norm(delta), 5);
        Assert.Throws<ArgumentException>(() => UpdateMath.Delta(local, new ModelWeights([new NamedTensor("w", [4], [1, 2, 3, 4])])));
    }
}
