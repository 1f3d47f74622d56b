using Orleans.Concurrency;
using Regatta.Workers;

namespace Regatta.Grains.Workers;

[GenerateSerializer, Alias("regatta.WorkerRegistryShardState")]
public sealed class WorkerRegistryShardState
{
    [Id(0)] public Dictionary<string, WorkerSummary> Workers { get; set; } = new();
}

/// <summary>
/// One slice of the worker list (see <see cref="WorkerRegistry"/>). Reentrant so that upserts arriving while a
/// write is in flight change the in-memory slice and then share the next write: under a registration storm a
/// shard writes once per store round-trip, not once per worker. An upsert returns only once a write that
/// includes it has completed.
/// </summary>
[Reentrant]
public sealed class WorkerRegistryShardGrain(
    [PersistentState("workers", StoreNames.Regatta)] IPersistentState<WorkerRegistryShardState> state) : Grain, IWorkerRegistryShardGrain
{
    private Dictionary<string, WorkerSummary> _workers = null!;
    private CoalescedWrites _writes = null!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _workers = state.State.Workers;
        _writes = new CoalescedWrites(WriteSnapshot);
        state.State = new(); // the live slice is _workers; the persistent state only carries snapshots to the store
        return Task.CompletedTask;
    }

    public Task Upsert(WorkerSummary worker)
    {
        var known = _workers.TryGetValue(worker.WorkerId, out var old);
        _workers[worker.WorkerId] = worker;
        // Only last-seen moved: keep it in memory; heartbeats must not cost a write.
        if (known && old! with { LastSeen = worker.LastSeen } == worker) return Task.CompletedTask;
        return Persist();
    }

    public Task Remove(string workerId) => _workers.Remove(workerId) ? Persist() : Task.CompletedTask;

    public Task<WorkerShardPage> Head(int limit, ApprovalStatus? approval = null)
    {
        if (limit < 0) throw new RegattaException("bad_page", "limit must not be negative");
        var matching = _workers.Values.Where(w => approval is null || w.Approval == approval).ToList();
        var head = matching.OrderBy(w => w.WorkerId, StringComparer.Ordinal).Take(limit).ToList();
        return Task.FromResult(new WorkerShardPage(head, matching.Count));
    }

    public Task<WorkerCounts> Counts()
    {
        int online = 0, pending = 0, offline = 0;
        foreach (var w in _workers.Values)
        {
            if (w.Liveness == Liveness.Offline) offline++;
            else if (w.Approval == ApprovalStatus.Approved) online++;
            if (w.Approval == ApprovalStatus.Pending) pending++;
        }
        return Task.FromResult(new WorkerCounts(online, pending, offline, _workers.Count));
    }

    private Task Persist() => _writes.Persist();

    private async Task WriteSnapshot()
    {
        // A copy: later turns change _workers while the store serialises; the copy is dropped once written.
        state.State = new WorkerRegistryShardState { Workers = new(_workers) };
        try
        {
            await state.WriteStateAsync();
        }
        finally
        {
            state.State = new();
        }
    }
}
