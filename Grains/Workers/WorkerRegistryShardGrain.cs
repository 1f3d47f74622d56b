using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Regatta.Workers;

namespace Regatta.Grains.Workers;

[GenerateSerializer, Alias("regatta.WorkerRegistryShardState")]
public sealed class WorkerRegistryShardState
{
    [Id(0)] public Dictionary<string, WorkerSummary> Workers { get; set; } = new();
}

/// <summary>
/// One slice of the worker list (see <see cref="WorkerRegistry"/>), kept in memory and written behind: a change
/// marks the slice dirty and the shard writes it at most once per <see cref="FlushDelay"/> (and when it
/// deactivates), so a registration storm of N workers costs each shard a write per second instead of one per store
/// round-trip (32 shards writing back to back doubled the storm's store traffic). Upserts return once the slice in
/// memory has changed, so lists and counts see them at once. The worker grain's own state is the record of truth:
/// a silo lost within a second of a change leaves the slice stale until that worker's next state write (at the
/// latest its periodic heartbeat save) upserts it again. Reentrant: a write in flight holds up no upsert.
/// </summary>
[Reentrant]
public sealed class WorkerRegistryShardGrain(
    [PersistentState("workers", StoreNames.Regatta)] IPersistentState<WorkerRegistryShardState> state,
    ILogger<WorkerRegistryShardGrain> logger) : Grain, IWorkerRegistryShardGrain
{
    /// <summary>How long a change may wait for its write; also the most writes per second one shard makes.</summary>
    public static readonly TimeSpan FlushDelay = TimeSpan.FromSeconds(1);

    private Dictionary<string, WorkerSummary> _workers = null!;
    private bool _dirty;         // changed in memory since the last snapshot was taken
    private IGrainTimer? _flush; // set while a write is due

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _workers = state.State.Workers;
        state.State = new(); // the live slice is _workers; the persistent state only carries snapshots to the store
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_dirty) await WriteSnapshot();
    }

    public Task Upsert(WorkerSummary worker)
    {
        var known = _workers.TryGetValue(worker.WorkerId, out var old);
        _workers[worker.WorkerId] = worker;
        // Only last-seen moved: keep it in memory; heartbeats must not cost a write.
        if (!(known && old! with { LastSeen = worker.LastSeen } == worker)) Changed();
        return Task.CompletedTask;
    }

    public Task Remove(string workerId)
    {
        if (_workers.Remove(workerId)) Changed();
        return Task.CompletedTask;
    }

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

    private void Changed()
    {
        _dirty = true;
        // KeepAlive: a dirty slice must not be collected before it is written (deactivation writes it too).
        _flush ??= this.RegisterGrainTimer(Flush, new GrainTimerCreationOptions(FlushDelay, FlushDelay) { KeepAlive = true });
    }

    /// <summary>Ticks every <see cref="FlushDelay"/> while there is something to write; stops after a quiet tick.</summary>
    private async Task Flush(CancellationToken cancellationToken)
    {
        if (!_dirty)
        {
            _flush?.Dispose();
            _flush = null;
            return;
        }
        try
        {
            await WriteSnapshot();
        }
        catch (Exception e)
        {
            // Still dirty: the next tick tries again with whatever has changed since.
            _dirty = true;
            logger.LogWarning(e, "Worker registry shard {Shard} could not store its slice; retrying in {Delay}", this.GetPrimaryKeyLong(), FlushDelay);
        }
    }

    private async Task WriteSnapshot()
    {
        // A copy: later turns change _workers while the store serialises; the copy is dropped once written.
        state.State = new WorkerRegistryShardState { Workers = new(_workers) };
        _dirty = false;
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
