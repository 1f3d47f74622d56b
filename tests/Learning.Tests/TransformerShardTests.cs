using Regatta.Learning.Models;
using Regatta.Learning.Weights;
using static TorchSharp.torch;

namespace Regatta.Tests;

public class TransformerShardTests
{
    private static (TransformerArchitecture, ModelWeights, float[] Expected) Whole(int blocks, int[] prompt)
    {
        var spec = ModelTests.Transformer(blocks: blocks, context: 16);
        using var scope = NewDisposeScope();
        var model = (TransformerLM)ModelCatalog.Create(spec, seed: 5);
        model.eval();
        using var noGrad = no_grad();
        var logits = model.forward(tensor(prompt.Select(t => (long)t).ToArray(), [1, prompt.Length]));
        return (model.Architecture, WeightsIO.Read(model), logits[0, -1].data<float>().ToArray());
    }

    [Theory]
    [InlineData(new[] { 3 })]
    [InlineData(new[] { 1, 2, 3, 4, 5, 6, 7 })]
    [InlineData(new[] { 27, 0, 13, 13, 9, 1, 22, 5, 8, 8, 3, 17, 0, 2, 4, 6 })]
    public void Three_shards_in_a_chain_give_the_whole_models_next_token_logits(int[] prompt)
    {
        var (architecture, weights, expected) = Whole(6, prompt);
        var parts = TransformerParts.Split(weights, 6);
        using var first = new TransformerShard(architecture, 0, 2, TransformerParts.Needed(0, 2, 6).Select(i => parts[i]));
        using var middle = new TransformerShard(architecture, 2, 4, TransformerParts.Needed(2, 4, 6).Select(i => parts[i]));
        using var last = new TransformerShard(architecture, 4, 6, TransformerParts.Needed(4, 6, 6).Select(i => parts[i]));

        var hidden = first.Forward(0, 2, prompt, null, prompt.Length);
        hidden = middle.Forward(2, 4, null, hidden, prompt.Length);
        var logits = last.Forward(4, 6, null, hidden, prompt.Length);

        Assert.Equal(expected.Length, logits.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], logits[i], 1e-4f);
        Assert.True(first.Embeds && !first.HasHead && last.HasHead && !middle.Embeds);
    }

    [Fact]
    public void A_shard_holds_only_the_parameters_of_its_range()
    {
        var (architecture, weights, _) = Whole(6, [1]);
        var parts = TransformerParts.Split(weights, 6);
        using var middle = new TransformerShard(architecture, 2, 4, TransformerParts.Needed(2, 4, 6).Select(i => parts[i]));

        Assert.Equal([3, 4], TransformerParts.Needed(2, 4, 6)); // blocks 2 and 3 are parts 3 and 4
        Assert.Equal(parts[3].ParameterCount + parts[4].ParameterCount, middle.ParameterCount);
        Assert.Equal(weights.ParameterCount, parts.Sum(p => p.ParameterCount));
        Assert.True(middle.ParameterCount < weights.ParameterCount / 3);
    }

    [Fact]
    public void Missing_parts_wrong_ranges_and_bad_inputs_are_refused()
    {
        var (architecture, weights, _) = Whole(6, [1]);
        var parts = TransformerParts.Split(weights, 6);

        Assert.Contains("lack tensor 'blocks.3.", Assert.Throws<ArgumentException>(() => new TransformerShard(architecture, 2, 4, [parts[3]])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerShard(architecture, 4, 7, parts));
        using var shard = new TransformerShard(architecture, 0, 6, parts);
        Assert.Throws<ArgumentOutOfRangeException>(() => shard.Forward(0, 6, [1], null, 17)); // beyond the context
        Assert.Throws<ArgumentException>(() => shard.Forward(0, 6, [28], null, 1)); // not in the vocabulary
        Assert.Throws<ArgumentException>(() => shard.Forward(2, 6, null, new float[31], 1)); // width is 32
        Assert.Throws<ArgumentException>(() => shard.Forward(2, 6, null, [.. new float[31], float.NaN], 1));
        Assert.Throws<ArgumentException>(() => TransformerParts.Split(weights, 7));
    }
}
