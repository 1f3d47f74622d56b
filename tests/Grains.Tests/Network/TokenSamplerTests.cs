using Regatta.Grains.Network;

namespace Regatta.Grains.Tests.Network;

public sealed class TokenSamplerTests
{
    private static readonly float[] Logits = [0.1f, 2.5f, -1f, 2.4f, 0f];

    [Fact]
    public void At_temperature_zero_the_most_likely_token_is_taken()
    {
        Assert.Equal(1, new TokenSampler(0, 0, 1).Next(Logits));
    }

    [Fact]
    public void Sampling_is_reproducible_from_its_seed_and_varies_between_seeds()
    {
        int[] Draw(long seed)
        {
            var sampler = new TokenSampler(1.5, 0, seed);
            return [.. Enumerable.Range(0, 50).Select(_ => sampler.Next(Logits))];
        }

        Assert.Equal(Draw(7), Draw(7));
        Assert.NotEqual(Draw(7), Draw(8));
        Assert.True(Draw(7).Distinct().Count() > 2);
    }

    [Fact]
    public void Top_k_keeps_only_the_k_most_likely_tokens()
    {
        var sampler = new TokenSampler(5, 2, 3);
        var drawn = Enumerable.Range(0, 200).Select(_ => sampler.Next(Logits)).ToHashSet();
        Assert.Equal(new HashSet<int> { 1, 3 }, drawn);
    }
}
