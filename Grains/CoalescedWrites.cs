namespace Regatta.Grains;

/// <summary>
/// Write coalescing for a reentrant grain whose state many callers change at once: changes made while a write is in
/// flight share the next write, so the grain writes once per store round-trip instead of once per change. Paced, the
/// next write also waits as long as the last one took (at most <c>maxPause</c>): a state that grows costly to write
/// is written at most half the time, and a burst of changes shares even fewer writes, while a cheap write waits next
/// to nothing. A call to <see cref="Persist"/> returns once a write that includes its change has completed (or throws
/// what that write threw).
/// </summary>
/// <param name="writeSnapshot">Writes the current state. It must take its snapshot before its first await: later turns
/// go on changing the live state while the store serialises.</param>
/// <param name="maxPause">The longest a write waits after the previous one (zero: writes follow each other at once).</param>
public sealed class CoalescedWrites(Func<Task> writeSnapshot, TimeSpan maxPause = default, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long _changes;   // changes applied in memory
    private long _persisted; // changes covered by the last completed write
    private Task? _write;    // the write in flight (or pausing before it starts), if any
    private long _lastEnd;
    private TimeSpan _lastTook;

    public async Task Persist()
    {
        var mine = ++_changes;
        while (_persisted < mine)
        {
            if (_write is { IsCompleted: false } inFlight)
            {
                // Started before this change (or still covering it): wait, then write again if it did not cover it.
                try { await inFlight; } catch { /* its own caller reports it; this change gets its own attempt */ }
                continue;
            }
            var write = Write();
            _write = write;
            await write;
        }
    }

    private async Task Write()
    {
        var pause = (_lastTook < maxPause ? _lastTook : maxPause) - _time.GetElapsedTime(_lastEnd);
        if (pause > TimeSpan.Zero) await Task.Delay(pause, _time);
        var started = _time.GetTimestamp();
        var covers = _changes;
        try
        {
            await writeSnapshot();
            _persisted = Math.Max(_persisted, covers);
        }
        finally
        {
            _lastEnd = _time.GetTimestamp();
            _lastTook = _time.GetElapsedTime(started, _lastEnd);
        }
    }
}
