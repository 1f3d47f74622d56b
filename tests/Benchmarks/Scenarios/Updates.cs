namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// K simulated client deltas of P floats. At most <see cref="Distinct"/> distinct buffers are allocated and
/// cycled (update i is buffer i mod Distinct): K = 64 × P = 16M would otherwise need 4 GiB just for inputs.
/// Eight 64 MiB buffers (512 MiB) are far beyond any cache, so every update is still read from memory —
/// the aggregator cannot tell a cycled buffer from a fresh one.
/// </summary>
public sealed class Updates
{
    public const int Distinct = 8;

    private readonly float[][] _buffers;

    private Updates(int count, float[][] buffers)
    {
        Count = count;
        Length = buffers[0].Length;
        _buffers = buffers;
    }

    public Updates(int count, int length, int seed = 42)
    {
        Count = count;
        Length = length;
        _buffers = new float[Math.Min(count, Distinct)][];
        var state = (uint)seed | 1;
        for (var b = 0; b < _buffers.Length; b++)
        {
            var buffer = new float[length];
            for (var i = 0; i < buffer.Length; i++)
            {
                // xorshift: cheap, deterministic, finite values in [-0.01, 0.01) like small training deltas
                state ^= state << 13; state ^= state >> 17; state ^= state << 5;
                buffer[i] = (state >> 8) * (1f / (1 << 24)) * 0.02f - 0.01f;
            }
            _buffers[b] = buffer;
        }
    }

    public int Count { get; }
    public int Length { get; }

    /// <summary>Bytes of update data a round folds: K × P × 4.</summary>
    public long Bytes => (long)Count * Length * sizeof(float);

    public float[] this[int i] => _buffers[i % _buffers.Length];

    /// <summary>The same buffers seen as a round of <paramref name="count"/> updates (no new memory: 64M-float buffers are 256 MB each).</summary>
    public Updates WithCount(int count) =>
        count <= Count || _buffers.Length == Distinct ? new Updates(count, _buffers) : new Updates(count, Length);

    /// <summary>The whole round as one batch for <see cref="Grains.Aggregation.IRoundAggregator.AddRange"/>.</summary>
    public Grains.Aggregation.WeightedDelta[] Batch() =>
        Enumerable.Range(0, Count).Select(i => new Grains.Aggregation.WeightedDelta(this[i], Examples(i))).ToArray();

    /// <summary>A client's example count; varied so the weighting is real.</summary>
    public static double Examples(int i) => 100 + 37 * (i % 11);
}
