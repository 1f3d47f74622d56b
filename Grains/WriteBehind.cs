namespace Regatta.Grains;

/// <summary>
/// When a state kept in memory and written behind is stored: once its changes pause (a tick passes with none), or
/// once the oldest unwritten change has waited <c>maxDelay</c>. A burst is stored a tick after it ends instead of up to
/// <c>maxDelay</c> later, while a steady stream of changes still costs one write per <c>maxDelay</c>. Pure: the grain
/// ticks it from a timer and does the writing.
/// </summary>
public sealed class WriteBehind(TimeSpan maxDelay, TimeProvider time)
{
    public enum Tick
    {
        /// <summary>Nothing to write: the timer can stop.</summary>
        Idle,
        /// <summary>Changes are still coming: look again on the next tick.</summary>
        Wait,
        /// <summary>Take the snapshot and write it now.</summary>
        Write,
    }

    private long? _dirtySince;    // timestamp of the oldest change not yet in a snapshot
    private bool _changedSinceTick;

    public bool Dirty => _dirtySince is not null;

    public void Changed()
    {
        _dirtySince ??= time.GetTimestamp();
        _changedSinceTick = true;
    }

    /// <summary>What to do on a timer tick. On <see cref="Tick.Write"/> the state counts as clean: take the snapshot at once.</summary>
    public Tick OnTick()
    {
        if (_dirtySince is not { } since) return Tick.Idle;
        var changing = _changedSinceTick;
        _changedSinceTick = false;
        if (changing && time.GetElapsedTime(since) < maxDelay) return Tick.Wait;
        _dirtySince = null;
        return Tick.Write;
    }

    /// <summary>A write failed: its changes are unwritten again, tried again once a tick has passed (a failing store is not hammered).</summary>
    public void Failed() => Changed();
}
