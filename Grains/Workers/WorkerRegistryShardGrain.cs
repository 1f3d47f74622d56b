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
/// One slice of the worker list (see <see cref="WorkerRegistry"/>), kept in memory and written behind
/// (<see cref="WriteBehind"/>): a change marks the slice dirty, and the shard writes it once its changes pause for a
/// <see cref="TickInterval"/>, at most <see cref="MaxDelay"/> after the first unwritten one (and when it deactivates). A
/// registration storm of N workers thus costs each shard a write per second instead of one per store round-trip (32
/// shards writing back to back doubled the storm's store traffic), and is stored a tick after it ends. Upserts return
/// once the slice in memory has changed, so lists and counts see them at once. The worker grain's own state is the
/// record of truth: a silo lost before a change is written leaves the slice stale until that worker's next state write
/// (at the latest its periodic heartbeat save) upserts it again. Reentrant: a write in flight holds up no upsert.
/// </summary>
[Reentrant]
public sealed class WorkerRegistryShardGrain(
    [PersistentState("workers", StoreNames.Regatta)] IPersistentState<WorkerRegistryShardState> state,
    TimeProvider time,
    ILogger<WorkerRegistryShardGrain> logger) : Grain, IWorkerRegistryShardGrain
{
    /// <summary>The longest a change waits for its write while changes keep coming; also the most writes per second one shard makes then.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);

    /// <summary>How often a dirty shard looks whether its changes have paused.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(100);

    private Dictionary<string, WorkerSummary> _workers = null!;
    private WriteBehind _writeBehind = null!;
    private IGrainTimer? _flush; // set while a write is due

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _workers = state.State.Workers;
        _writeBehind = new WriteBehind(MaxDelay, time);
        state.State = new(); // the live slice is _workers; the persistent state only carries snapshots to the store
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_writeBehind.Dirty) await WriteSnapshot();
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
        _writeBehind.Changed();
        // KeepAlive: a dirty slice must not be collected before it is written (deactivation writes it too).
        _flush ??= this.RegisterGrainTimer(Flush, new GrainTimerCreationOptions(TickInterval, TickInterval) { KeepAlive = true });
    }

    /// <summary>Ticks while there is something to write; stops once a tick finds the slice clean.</summary>
    private async Task Flush(CancellationToken cancellationToken)
    {
        switch (_writeBehind.OnTick())
        {
            case WriteBehind.Tick.Idle:
                _flush?.Dispose();
                _flush = null;
                return;
            case WriteBehind.Tick.Wait:
                return;
        }
        try
        {
            await WriteSnapshot();
        }
        catch (Exception e)
        {
            // Unwritten again: a later tick tries again with whatever has changed since.
            _writeBehind.Failed();
            logger.LogWarning(e, "Worker registry shard {Shard} could not store its slice; retrying", this.GetPrimaryKeyLong());
        }
    }

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
