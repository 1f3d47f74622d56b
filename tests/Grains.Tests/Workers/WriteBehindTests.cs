using Microsoft.Extensions.Time.Testing;

namespace Regatta.Grains.Tests.Workers;

/// <summary>
/// The registry shards' write-behind: a burst is written a tick after it ends, a steady stream of changes once per
/// max delay, and a failed write is tried again.
/// </summary>
public sealed class WriteBehindTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);

    [Fact]
    public void A_clean_state_is_idle_and_a_burst_is_written_on_the_first_tick_without_changes()
    {
        var time = new FakeTimeProvider();
        var writes = new WriteBehind(MaxDelay, time);
        Assert.Equal(WriteBehind.Tick.Idle, writes.OnTick());

        writes.Changed();
        writes.Changed();
        time.Advance(Tick);
        Assert.Equal(WriteBehind.Tick.Wait, writes.OnTick()); // changed since the last tick: may still be coming
        time.Advance(Tick);
        Assert.Equal(WriteBehind.Tick.Write, writes.OnTick());
        Assert.False(writes.Dirty);
        time.Advance(Tick);
        Assert.Equal(WriteBehind.Tick.Idle, writes.OnTick());
    }

    [Fact]
    public void A_steady_stream_of_changes_is_written_once_per_max_delay()
    {
        var time = new FakeTimeProvider();
        var writes = new WriteBehind(MaxDelay, time);
        var written = new List<TimeSpan>();
        var start = time.GetTimestamp();
        for (var tick = 1; tick <= 20; tick++) // 5 s of changes between every two ticks
        {
            writes.Changed();
            time.Advance(Tick);
            if (writes.OnTick() == WriteBehind.Tick.Write) written.Add(time.GetElapsedTime(start));
        }
        Assert.Equal([1, 2, 3, 4, 5], written.Select(t => t.TotalSeconds));
    }

    [Fact]
    public void Changes_during_a_write_make_the_state_dirty_again_and_a_failed_write_is_retried()
    {
        var time = new FakeTimeProvider();
        var writes = new WriteBehind(MaxDelay, time);
        writes.Changed();
        time.Advance(Tick);
        writes.OnTick();
        time.Advance(Tick);
        Assert.Equal(WriteBehind.Tick.Write, writes.OnTick());
        writes.Changed(); // arrives while that snapshot is being written
        Assert.True(writes.Dirty);

        writes.Failed(); // and the write fails
        time.Advance(Tick);
        Assert.Equal(WriteBehind.Tick.Wait, writes.OnTick()); // not hammering the store on the very next tick
        time.Advance(Tick);
        Assert.Equal(WriteBehind.Tick.Write, writes.OnTick());
    }
}
