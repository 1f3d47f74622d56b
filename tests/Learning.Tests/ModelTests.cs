using Regatta.Learning.Models;
using Regatta.Learning.Weights;
using Regatta.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Tests;

public class ModelTests
{
    internal static ModelSpec Mlp(int inputs = 2, int hidden = 32, int classes = 4) =>
        new() { Name = "mlp", Parameters = new() { ["inputs"] = inputs, ["hidden"] = hidden, ["classes"] = classes } };

    internal static ModelSpec Cnn(int size = 8, int filters = 8) =>
        new() { Name = "cnn", Parameters = new() { ["classes"] = 10, ["size"] = size, ["filters"] = filters } };

    internal static ModelSpec Transformer(int blocks = 3, int context = 16) => new()
    {
        Name = "transformer",
        Parameters = new() { ["vocab"] = 28, ["width"] = 32, ["heads"] = 4, ["blocks"] = blocks, ["context"] = context },
    };

    [Fact]
    public void Every_model_maps_a_batch_to_logits_of_the_expected_shape()
    {
        using var scope = NewDisposeScope();
        using var mlp = ModelCatalog.Create(Mlp() with { Parameters = new() { ["inputs"] = 5, ["hidden"] = 16, ["classes"] = 3, ["layers"] = 2 } }, 1);
        Assert.Equal([7L, 3], mlp.forward(randn(7, 5)).shape);

        using var small = ModelCatalog.Create(Cnn(size: 8), 1);
        Assert.Equal([4L, 10], small.forward(randn(4, 1, 8, 8)).shape);
        using var large = ModelCatalog.Create(Cnn(size: 28), 1);
        Assert.Equal([2L, 10], large.forward(randn(2, 1, 28, 28)).shape);

        using var lm = ModelCatalog.Create(Transformer(), 1);
        Assert.Equal([2L, 16, 28], lm.forward(randint(0, 28, [2, 16], dtype: int64)).shape);
    }

    [Fact]
    public void Transformer_run_block_by_block_equals_the_full_forward()
    {
        using var scope = NewDisposeScope();
        using var module = ModelCatalog.Create(Transformer(blocks: 5), 3);
        var lm = Assert.IsType<TransformerLM>(module);
        var tokens = randint(0, 28, [3, 12], dtype: int64, generator: new Generator(5, CPU));
        using var noGrad = no_grad();

        var full = lm.forward(tokens);
        // Three workers serving [0,2), [2,4) and [4,5), plus an empty range.
        var hidden = lm.Embed(tokens);
        hidden = lm.RunBlocks(hidden, 0, 2);
        hidden = lm.RunBlocks(hidden, 2, 2);
        hidden = lm.RunBlocks(hidden, 2, 4);
        hidden = lm.RunBlocks(hidden, 4, 5);
        var piped = lm.Head(hidden);

        Assert.Equal(5, lm.BlockCount);
        Assert.True(allclose(full, piped, rtol: 1e-5, atol: 1e-6));
        Assert.Throws<ArgumentOutOfRangeException>(() => lm.RunBlocks(hidden, 3, 6));
    }

    [Fact]
    public void Causal_mask_keeps_earlier_positions_independent_of_later_tokens()
    {
        using var scope = NewDisposeScope();
        using var lm = ModelCatalog.Create(Transformer(), 4);
        using var noGrad = no_grad();
        var a = tensor(new long[] { 1, 2, 3, 4, 5, 6 }).unsqueeze(0);
        var b = tensor(new long[] { 1, 2, 3, 9, 9, 9 }).unsqueeze(0);
        Assert.True(allclose(lm.forward(a)[.., ..3], lm.forward(b)[.., ..3], atol: 1e-6));
        Assert.False(allclose(lm.forward(a)[.., 3..], lm.forward(b)[.., 3..], atol: 1e-6));
    }

    [Theory]
    [InlineData("mlp")]
    [InlineData("cnn")]
    [InlineData("transformer")]
    public void Same_seed_gives_identical_weights_and_another_seed_different_ones(string name)
    {
        var spec = name switch { "mlp" => Mlp(), "cnn" => Cnn(), _ => Transformer() };
        string Hash(long seed)
        {
            using var module = ModelCatalog.Create(spec, seed);
            return ModelWeights.Hash(WeightsIO.Read(module).ToBytes());
        }
        Assert.Equal(Hash(11), Hash(11));
        Assert.NotEqual(Hash(11), Hash(12));
    }

    [Fact]
    public void Validate_reports_path_prefixed_errors()
    {
        Assert.Empty(ModelCatalog.Validate(Mlp()));
        Assert.Empty(ModelCatalog.Validate(Transformer()));

        Assert.Contains("model.name: unknown model 'rnn' (known: mlp, cnn, transformer)", ModelCatalog.Validate(new ModelSpec { Name = "rnn" }));
        Assert.Contains("model.parameters.hidden: must be > 0", ModelCatalog.Validate(Mlp(hidden: 0)));
        Assert.Contains("model.parameters.inputs: required for model 'mlp'",
            ModelCatalog.Validate(new ModelSpec { Name = "mlp", Parameters = new() { ["hidden"] = 4, ["classes"] = 2 } }));
        Assert.Contains(ModelCatalog.Validate(Mlp() with { Parameters = new(Mlp().Parameters) { ["hiden"] = 3 } }),
            e => e.StartsWith("model.parameters.hiden: unknown parameter for model 'mlp'"));
        Assert.Contains(ModelCatalog.Validate(Cnn(size: 10)), e => e.StartsWith("model.parameters.size: must be a multiple of 4"));
        var transformer = Transformer();
        transformer.Parameters["heads"] = 5;
        Assert.Contains(ModelCatalog.Validate(transformer), e => e.StartsWith("model.parameters.width: must be divisible by heads"));
    }

    [Fact]
    public void Create_throws_an_argument_exception_naming_the_parameter()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelCatalog.Create(Mlp(classes: -1), 1));
        Assert.Contains("model.parameters.classes", error.Message);
    }
}
