using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Regatta.Dashboard.Feed;

/// <summary>
/// The one place the dashboard's components read the cluster from. A single poller (<see cref="FeedPoller"/>)
/// publishes a <see cref="FeedSnapshot"/> about once a second; every open page subscribes here, so N viewers cost one
/// poll, and no poll happens while nobody watches.
/// </summary>
public sealed class DashboardFeed(ILogger<DashboardFeed>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<DashboardFeed>.Instance;
    private readonly Lock _gate = new();
    private readonly HashSet<string> _watched = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _watchCounts = new(StringComparer.Ordinal);
    private event Action<FeedSnapshot>? Changed;
    private int _subscribers;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public FeedSnapshot Current { get; private set; } = FeedSnapshot.Empty;

    public int Subscribers => Volatile.Read(ref _subscribers);

    /// <summary>Calls <paramref name="onChange"/> with every new snapshot until the returned handle is disposed.</summary>
    public IDisposable Subscribe(Action<FeedSnapshot> onChange)
    {
        lock (_gate)
        {
            Changed += onChange;
            _subscribers++;
        }
        RefreshNow();
        return new Subscription(() =>
        {
            lock (_gate)
            {
                Changed -= onChange;
                _subscribers--;
            }
        });
    }

    /// <summary>Asks the poller to read this run's details too (a page showing a run that is not active).</summary>
    public IDisposable Watch(string runId)
    {
        lock (_gate)
        {
            _watchCounts[runId] = _watchCounts.GetValueOrDefault(runId) + 1;
            _watched.Add(runId);
        }
        RefreshNow();
        return new Subscription(() =>
        {
            lock (_gate)
            {
                if (--_watchCounts[runId] > 0) return;
                _watchCounts.Remove(runId);
                _watched.Remove(runId);
            }
        });
    }

    public IReadOnlyCollection<string> WatchedRuns()
    {
        lock (_gate) return [.. _watched];
    }

    /// <summary>Polls now instead of at the next tick: after an action, so its effect shows at once.</summary>
    public void RefreshNow()
    {
        lock (_gate) _wake.TrySetResult();
    }

    /// <summary>Completes when <see cref="RefreshNow"/> is called; the poller waits on it next to its timer.</summary>
    internal Task WakeRequested()
    {
        lock (_gate)
        {
            if (_wake.Task.IsCompleted) _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
            return _wake.Task;
        }
    }

    public void Publish(FeedSnapshot snapshot)
    {
        Action<FeedSnapshot>? handlers;
        lock (_gate)
        {
            Current = snapshot;
            handlers = Changed;
        }
        if (handlers is null) return;
        foreach (var handler in handlers.GetInvocationList().Cast<Action<FeedSnapshot>>())
        {
            // One broken viewer must not stop the others from updating.
            try { handler(snapshot); }
            catch (Exception e) { _logger.LogWarning(e, "A dashboard viewer failed to take a snapshot"); }
        }
    }

    private sealed class Subscription(Action dispose) : IDisposable
    {
        private Action? _dispose = dispose;
        public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
    }
}
