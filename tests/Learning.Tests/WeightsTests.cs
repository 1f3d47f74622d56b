using Regatta.Learning.Weights;

namespace Regatta.Tests;

public class WeightsTests
{
    [Fact]
    public void Canonical_bytes_round_trip_and_hash_is_stable()
    {
        var w = new ModelWeights([new NamedTensor("fc.weight", [2, 3], [1, 2, 3, 4, 5, 6]), new NamedTensor("fc.bias", [2], [0.5f, -1])]);
        var bytes = w.ToBytes();
        var back = ModelWeights.FromBytes(bytes);
        Assert.True(w.SameLayoutAs(back, out _));
        Assert.Equal(w.Flatten(), back.Flatten());
        Assert.Equal(ModelWeights.Hash(bytes), ModelWeights.Hash(back.ToBytes()));
    }

    [Fact]
    public void Truncated_bytes_are_refused()
    {
        var bytes = new ModelWeights([new NamedTensor("a", [4], [1, 2, 3, 4])]).ToBytes();
        var ex = Assert.Throws<InvalidDataException>(() => ModelWeights.FromBytes(bytes.AsSpan(0, bytes.Length - 3)));
        Assert.Contains("truncated", ex.Message);
    }
}
