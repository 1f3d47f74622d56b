namespace Regatta.Grains.Aggregation;

/// <summary>
/// Model-sized float buffers kept between rounds. A FedAvg round needs a scratch buffer next to its running sum;
/// getting it from here instead of the GC saves allocating and first-touching (page-faulting) a model-sized
/// array every round. Only the scratch comes back: the sum itself is handed to the caller as the round's result.
/// Buffers are exact-length and come back uninitialised (the fold writes every value before it reads one).
/// </summary>
internal static class SumBuffers
{
    // Enough for a few runs with different models on one silo; a buffer beyond this is left to the GC.
    private const int MaxPooled = 4;
    private static readonly List<float[]> Pool = [];

    public static float[] Rent(int length)
    {
        lock (Pool)
        {
            for (var i = Pool.Count - 1; i >= 0; i--)
            {
                if (Pool[i].Length != length) continue;
                var buffer = Pool[i];
                Pool.RemoveAt(i);
                return buffer;
            }
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    public static void Return(float[] buffer)
    {
        lock (Pool)
        {
            // Newest last; when full, drop the oldest (likely a model no run uses any more).
            if (Pool.Count >= MaxPooled) Pool.RemoveAt(0);
            Pool.Add(buffer);
        }
    }

    /// <summary>Empties the pool (tests and the memory benchmark, to count every byte a round holds).</summary>
    public static void Clear()
    {
        lock (Pool) Pool.Clear();
    }
}
