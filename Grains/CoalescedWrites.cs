namespace Regatta.Grains;

/// <summary>
/// Write coalescing for a reentrant grain whose state many callers change at once: changes made while a write is in
/// flight share the next write, so the grain writes once per store round-trip instead of once per change. A call to
/// <see cref="Persist"/> returns once a write that includes its change has completed (or throws what that write threw).
/// </summary>
/// <param name="writeSnapshot">Writes the current state. It must take its snapshot before its first await: later turns
/// go on changing the live state while the store serialises.</param>
public sealed class CoalescedWrites(Func<Task> writeSnapshot)
{
    private long _changes;   // changes applied in memory
    private long _persisted; // changes covered by the last completed write
    private Task? _write;    // the write in flight, if any

    public async Task Persist()
    {
        var mine = ++_changes;
        while (_persisted < mine)
        {
            if (_write is { } inFlight)
            {
                // Started before this change (or still covering it): wait, then write again if it did not cover it.
                try { await inFlight; } catch { /* its own caller reports it; this change gets its own attempt */ }
                continue;
            }
            var covers = _changes;
            var write = writeSnapshot();
            _write = write;
            try
            {
                await write;
                _persisted = Math.Max(_persisted, covers);
            }
            finally
            {
                if (_write == write) _write = null;
            }
        }
    }
}
