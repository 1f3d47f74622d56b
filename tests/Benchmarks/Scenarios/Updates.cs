namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// K simulated client deltas of P floats, each its own array with its own values: no two updates share memory, so a
/// kernel that folds several updates block by block cannot find one update's block in cache because another brought
/// it in, and every byte a round folds is read from memory (what a round of K real clients costs).
/// The caller sizes K × P to the memory it has (K = 64 × P = 16M is 4 GiB of inputs).
/// </summary>
public sealed class Updates
{
    private readonly float[][] _buffers;

    private Updates(float[][] buffers)
    {
        Length = buffers[0].Length;
        _buffers = buffers;
    }

    public Updates(int count, int length, int seed = 42)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        Length = length;
        _buffers = new float[count][];
        // Filled on every core: 4 GiB of xorshift on one thread would take longer than the rounds measured on it.
        Parallel.For(0, count, b =>
        {
            var buffer = GC.AllocateUninitializedArray<float>(length);
            var state = (uint)(seed + 0x9E3779B9u * (uint)(b + 1)) | 1; // a different stream per update
            for (var i = 0; i < buffer.Length; i++)
            {
                // xorshift: cheap, deterministic, finite values in [-0.01, 0.01) like small training deltas
                state ^= state << 13; state ^= state >> 17; state ^= state << 5;
                buffer[i] = (state >> 8) * (1f / (1 << 24)) * 0.02f - 0.01f;
            }
            _buffers[b] = buffer;
        });
    }

    public int Count => _buffers.Length;
    public int Length { get; }

    /// <summary>Bytes of update data a round folds: K × P × 4, every one of them in a distinct place.</summary>
    public long Bytes => (long)Count * Length * sizeof(float);

    public float[] this[int i] => _buffers[i];

    /// <summary>The first <paramref name="count"/> updates as a round of their own (no new memory).</summary>
    public Updates WithCount(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Count);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return count == Count ? this : new Updates(_buffers[..count]);
    }

    /// <summary>The whole round as one batch for <see cref="Grains.Aggregation.IRoundAggregator.AddRange"/>.</summary>
    public Grains.Aggregation.WeightedDelta[] Batch() =>
        Enumerable.Range(0, Count).Select(i => new Grains.Aggregation.WeightedDelta(this[i], Examples(i))).ToArray();

    /// <summary>A client's example count; varied so the weighting is real.</summary>
    public static double Examples(int i) => 100 + 37 * (i % 11);
}
