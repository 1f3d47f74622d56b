using Orleans.Concurrency;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Grains.Workers;

/// <summary>
/// The list of workers for paging and counting, as one grain to its callers (API, dashboard, metrics). It holds
/// nothing itself: every worker lives in one of <see cref="WorkerRegistry.Shards"/> shard grains, each persisting
/// only its slice, so a registration rewrites a few hundred entries instead of the whole list (a single grain
/// rewriting every entry per upsert timed out at 3k registering workers). Stateless, so every silo answers
/// locally; reentrant, so one caller waiting on a shard does not hold up the next (a non-reentrant stateless
/// worker allows one call per core).
/// </summary>
[StatelessWorker, Reentrant]
public sealed class WorkerRegistryGrain : Grain, IWorkerRegistryGrain
{
    public Task Upsert(WorkerSummary worker) => GrainFactory.Shard(worker.WorkerId).Upsert(worker);

    public Task Remove(string workerId) => GrainFactory.Shard(workerId).Remove(workerId);

    public async Task<Page<WorkerSummary>> List(int skip, int take, ApprovalStatus? approval = null)
    {
        Paging.Check(skip, take);
        // Each shard's first skip+take in id order contains every worker the merged page can need.
        var limit = (int)Math.Min((long)skip + take, int.MaxValue);
        var heads = await Task.WhenAll(Shards().Select(s => s.Head(limit, approval)));
        var items = heads.SelectMany(h => h.Items).OrderBy(w => w.WorkerId, StringComparer.Ordinal).Skip(skip).Take(take).ToList();
        return new Page<WorkerSummary>(items, heads.Sum(h => h.Total), skip);
    }

    public async Task<WorkerCounts> Counts()
    {
        var counts = await Task.WhenAll(Shards().Select(s => s.Counts()));
        return new WorkerCounts(counts.Sum(c => c.Online), counts.Sum(c => c.Pending), counts.Sum(c => c.Offline), counts.Sum(c => c.Total));
    }

    private IEnumerable<IWorkerRegistryShardGrain> Shards() =>
        Enumerable.Range(0, WorkerRegistry.Shards).Select(i => GrainFactory.GetGrain<IWorkerRegistryShardGrain>(i));
}
