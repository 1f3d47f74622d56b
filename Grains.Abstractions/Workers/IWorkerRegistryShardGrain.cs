namespace Regatta.Workers;

/// <summary>
/// One slice of the worker list: the workers whose id hashes to this shard (key 0..Shards-1). Callers use
/// <see cref="IWorkerRegistryGrain"/>, which routes to the shards and merges their answers; workers write here directly.
/// </summary>
[Alias("regatta.IWorkerRegistryShardGrain")]
public interface IWorkerRegistryShardGrain : IGrainWithIntegerKey
{
    [Alias("Upsert")] Task Upsert(WorkerSummary worker);
    [Alias("Remove")] Task Remove(string workerId);
    /// <summary>The first <paramref name="limit"/> matching workers of this shard in ordinal id order, and how many match in all.</summary>
    [Alias("Head")] Task<WorkerShardPage> Head(int limit, ApprovalStatus? approval = null);
    [Alias("Counts")] Task<WorkerCounts> Counts();
}

[GenerateSerializer, Alias("regatta.WorkerShardPage")]
public sealed record WorkerShardPage(
    [property: Id(0)] List<WorkerSummary> Items,
    [property: Id(1)] int Total);
