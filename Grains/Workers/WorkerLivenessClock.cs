using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Regatta.Grains.Workers;

/// <summary>The worker grain's side of <see cref="WorkerLivenessClock"/>: asked to check itself once it looks silent.</summary>
[Alias("regatta.IWorkerLiveness")]
public interface IWorkerLiveness : IGrainWithStringKey
{
    /// <summary>Marks the worker Offline (leaving its runs) if it has not been heard from within the heartbeat timeout.</summary>
    [Alias("CheckLiveness")] Task CheckLiveness();
}

/// <summary>
/// Notices silent workers for the worker grains of this silo with one timer, instead of a grain timer per worker:
/// a grain timer kept ~0.7 KB alive per idle worker (the budget is 4 KB) and ticked 10k times per period at 10k
/// workers. Worker grains report when they last heard from their agent (a dictionary write per heartbeat); every
/// quarter of the timeout the clock asks the overdue ones to check themselves, which also wakes a grain that was
/// collected meanwhile. The grain decides from its own state and stops being watched once Offline.
/// </summary>
public sealed class WorkerLivenessClock : IDisposable
{
    private readonly ConcurrentDictionary<GrainId, long> _lastSeen = new(); // UTC ticks
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly ITimer _timer;

    public WorkerLivenessClock(IGrainFactory grains, IOptions<CoordinatorOptions> options, TimeProvider time)
    {
        _grains = grains;
        _time = time;
        _timeout = options.Value.HeartbeatTimeout;
        _timer = time.CreateTimer(_ => Sweep(), null, _timeout / 4, _timeout / 4);
    }

    public void Seen(GrainId worker, DateTimeOffset at) => _lastSeen[worker] = at.UtcTicks;

    public void Forget(GrainId worker) => _lastSeen.TryRemove(worker, out _);

    /// <summary>Workers being watched on this silo (for tests and diagnostics).</summary>
    public int Watched => _lastSeen.Count;

    private void Sweep()
    {
        var overdue = (_time.GetUtcNow() - _timeout).UtcTicks;
        foreach (var (worker, seen) in _lastSeen)
        {
            // One-way in effect: a failed check is retried on the next sweep while the worker stays overdue.
            if (seen < overdue) _grains.GetGrain<IWorkerLiveness>(worker).CheckLiveness().Ignore();
        }
    }

    public void Dispose() => _timer.Dispose();
}
