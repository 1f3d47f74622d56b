using Regatta.Workers;

namespace Regatta.Grains.Workers;

/// <summary>Which registry shard holds a worker. The mapping is persisted implicitly (each shard stores its slice), so it must never change.</summary>
public static class WorkerRegistry
{
    /// <summary>
    /// 32 slices: at 10k workers a shard rewrites ~300 entries per write instead of 10k, and registrations spread
    /// over 32 grains instead of queueing behind one. Changing it would strand stored slices.
    /// </summary>
    public const int Shards = 32;

    public static int ShardOf(string workerId)
    {
        // FNV-1a over the UTF-16 code units: stable across processes (string.GetHashCode is randomised per process).
        var hash = 2166136261u;
        foreach (var c in workerId)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return (int)(hash % Shards);
    }

    public static IWorkerRegistryShardGrain Shard(this IGrainFactory grains, string workerId) =>
        grains.GetGrain<IWorkerRegistryShardGrain>(ShardOf(workerId));
}
