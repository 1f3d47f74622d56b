using Microsoft.Extensions.Time.Testing;

namespace Regatta.Grains.Tests.Jobs;

/// <summary>
/// A job history's writes: changes made while a write is in flight or pausing share the next one, and the pause after a
/// write is as long as that write took (up to the cap), so a cheap write is not held back.
/// </summary>
public sealed class CoalescedWritesTests
{
    private static readonly TimeSpan MaxPause = TimeSpan.FromMilliseconds(250);

    /// <summary>Writes that take <paramref name="took"/> on the fake clock, recording how many changes each covered and when it started.</summary>
    private static (CoalescedWrites Writes, List<(int Changes, DateTimeOffset At)> Written, Func<int> Change) Store(FakeTimeProvider time, TimeSpan took)
    {
        var written = new List<(int, DateTimeOffset)>();
        var changes = 0;
        var writes = new CoalescedWrites(() =>
        {
            written.Add((changes, time.GetUtcNow()));
            time.Advance(took);
            return Task.CompletedTask;
        }, MaxPause, time);
        return (writes, written, () => ++changes);
    }

    [Fact]
    public async Task A_burst_after_a_write_shares_one_write_that_starts_as_long_after_it_as_it_took()
    {
        var time = new FakeTimeProvider();
        var (writes, written, change) = Store(time, TimeSpan.FromMilliseconds(100));

        change();
        await writes.Persist(); // the first write goes at once
        var burst = Enumerable.Range(0, 5).Select(_ =>
        {
            change();
            return writes.Persist();
        }).ToList();
        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.All(burst, p => Assert.False(p.IsCompleted)); // not yet written: no caller is told so
        time.Advance(TimeSpan.FromMilliseconds(1));
        await Task.WhenAll(burst);

        Assert.Equal(2, written.Count);
        Assert.Equal(6, written[1].Changes); // the second write covers the whole burst
        Assert.Equal(TimeSpan.FromMilliseconds(200), written[1].At - written[0].At); // 100 ms writing, 100 ms pause
    }

    [Fact]
    public async Task A_cheap_write_is_not_held_back_and_a_slow_one_pauses_the_next_at_most_the_cap()
    {
        var time = new FakeTimeProvider();
        var (cheap, cheapWritten, cheapChange) = Store(time, TimeSpan.Zero);
        cheapChange();
        await cheap.Persist();
        cheapChange();
        var next = cheap.Persist();
        Assert.True(next.IsCompleted); // no time passed, none needed
        Assert.Equal(2, cheapWritten.Count);

        var (slow, slowWritten, slowChange) = Store(time, TimeSpan.FromSeconds(2));
        slowChange();
        await slow.Persist();
        slowChange();
        var after = slow.Persist();
        time.Advance(MaxPause);
        await after;
        Assert.Equal(TimeSpan.FromSeconds(2) + MaxPause, slowWritten[1].At - slowWritten[0].At);
    }

    [Fact]
    public async Task A_failed_write_fails_the_callers_it_covered_and_the_next_change_is_written_again()
    {
        var fail = true;
        var writes = 0;
        var coalesced = new CoalescedWrites(() =>
        {
            writes++;
            return fail ? Task.FromException(new IOException("store down")) : Task.CompletedTask;
        });

        await Assert.ThrowsAsync<IOException>(coalesced.Persist);
        fail = false;
        await coalesced.Persist();

        Assert.Equal(2, writes);
    }
}
