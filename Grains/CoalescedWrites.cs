namespace Regatta.Grains;

/// <summary>
/// Write coalescing for a reentrant grain whose state many callers change at once: changes made while a write is in
/// flight share the next write, so the grain writes once per store round-trip instead of once per change. With a
/// spacing, a write starts at most once per spacing, so a burst of changes to a large state shares even fewer writes.
/// A call to <see cref="Persist"/> returns once a write that includes its change has completed (or throws what that
/// write threw).
/// </summary>
/// <param name="writeSnapshot">Writes the current state. It must take its snapshot before its first await: later turns
/// go on changing the live state while the store serialises.</param>
public sealed class CoalescedWrites(Func<Task> writeSnapshot, TimeSpan spacing = default, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long _changes;   // changes applied in memory
    private long _persisted; // changes covered by the last completed write
    private Task? _write;    // the write in flight (or waiting for its turn), if any
    private long? _lastStart;

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
        if (spacing > TimeSpan.Zero && _lastStart is { } last && _time.GetElapsedTime(last) is var since && since < spacing)
            await Task.Delay(spacing - since, _time);
        _lastStart = _time.GetTimestamp();
        var covers = _changes;
        await writeSnapshot();
        _persisted = Math.Max(_persisted, covers);
    }
}
