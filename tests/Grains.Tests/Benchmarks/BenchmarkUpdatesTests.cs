using Regatta.Benchmarks.Scenarios;

namespace Regatta.Grains.Tests.Benchmarks;

/// <summary>
/// The FedAvg benchmark's inputs (tests/Benchmarks, compiled in here): a round of K updates must be K distinct buffers,
/// or a kernel that folds several updates block by block reads some of them from cache and the GB/s overstates it.
/// </summary>
public class BenchmarkUpdatesTests
{
    [Theory]
    [InlineData(64, 4096)]
    [InlineData(9, 1000)]
    public void No_two_updates_share_memory_or_values(int k, int p)
    {
        var updates = new Updates(k, p);

        Assert.Equal(k, updates.Count);
        Assert.Equal((long)k * p * sizeof(float), updates.Bytes);
        for (var i = 0; i < k; i++)
        {
            Assert.Equal(p, updates[i].Length);
            Assert.True(System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(updates[i]));
            for (var j = i + 1; j < k; j++)
            {
                Assert.False(updates[i].AsSpan().Overlaps(updates[j]), $"updates {i} and {j} share memory");
                Assert.False(updates[i].AsSpan().SequenceEqual(updates[j]), $"updates {i} and {j} hold the same values");
            }
        }
    }

    [Fact]
    public void A_round_batch_hands_over_each_update_once()
    {
        var updates = new Updates(16, 256);
        var batch = updates.Batch();

        Assert.Equal(16, batch.Length);
        Assert.Equal(16, batch.Select(b => b.Delta).Distinct().Count());
        for (var i = 0; i < batch.Length; i++) Assert.True(batch[i].Delta.Span.SequenceEqual(updates[i]));
    }

    [Fact]
    public void A_smaller_round_is_the_first_updates_and_a_larger_one_is_refused()
    {
        var updates = new Updates(8, 128);
        var first = updates.WithCount(3);

        Assert.Equal(3, first.Count);
        for (var i = 0; i < 3; i++) Assert.Same(updates[i], first[i]);
        Assert.Throws<ArgumentOutOfRangeException>(() => updates.WithCount(9));
    }
}
