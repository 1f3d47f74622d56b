namespace Regatta.Grains.Aggregation;

/// <summary>
/// Model-sized float buffers kept between rounds. A FedAvg round needs a scratch buffer next to its running sum, and a
/// robust round (median, trimmed mean, Krum) a copy of each of its K updates; getting them from here instead of the GC
/// saves allocating and first-touching (page-faulting) model-sized arrays every round — for K = 8 copies of a 64 MB
/// model that was most of the round's time, and it swung tenfold with the host's memory pressure.
/// Buffers are exact-length and come back uninitialised (their users write every value before they read one).
/// </summary>
internal static class SumBuffers
{
    // Enough for a few runs, or one robust round of up to 32 updates; beyond either bound the oldest buffer is left to the GC.
    private const int MaxPooled = 32;
    private const long MaxPooledBytes = 1L << 30;
    private static readonly List<float[]> Pool = [];
    private static long _pooledBytes;

    public static float[] Rent(int length)
    {
        lock (Pool)
        {
            for (var i = Pool.Count - 1; i >= 0; i--)
            {
                if (Pool[i].Length != length) continue;
                var buffer = Pool[i];
                Pool.RemoveAt(i);
                _pooledBytes -= Bytes(buffer);
                return buffer;
            }
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    public static void Return(float[] buffer)
    {
        lock (Pool)
        {
            if (Bytes(buffer) > MaxPooledBytes) return;
            // Newest last; when full, drop the oldest (likely a model no run uses any more).
            while (Pool.Count >= MaxPooled || _pooledBytes + Bytes(buffer) > MaxPooledBytes)
            {
                _pooledBytes -= Bytes(Pool[0]);
                Pool.RemoveAt(0);
            }
            Pool.Add(buffer);
            _pooledBytes += Bytes(buffer);
        }
    }

    /// <summary>Empties the pool (tests and the memory benchmark, to count every byte a round holds).</summary>
    public static void Clear()
    {
        lock (Pool)
        {
            Pool.Clear();
            _pooledBytes = 0;
        }
    }

    private static long Bytes(float[] buffer) => buffer.LongLength * sizeof(float);
}
