using Microsoft.Extensions.Time.Testing;

namespace Regatta.Grains.Tests.Jobs;

/// <summary>A job history's writes: changes made while a write is in flight or waiting its turn share the next one.</summary>
public sealed class CoalescedWritesTests
{
    private static readonly TimeSpan Spacing = TimeSpan.FromMilliseconds(250);

    [Fact]
    public async Task A_burst_after_a_write_shares_one_write_that_starts_a_spacing_after_the_last()
    {
        var time = new FakeTimeProvider();
        var written = new List<(int Changes, DateTimeOffset At)>();
        var changes = 0;
        var writes = new CoalescedWrites(() =>
        {
            written.Add((changes, time.GetUtcNow()));
            return Task.CompletedTask;
        }, Spacing, time);

        changes++;
        await writes.Persist(); // the first write goes at once
        var burst = Enumerable.Range(0, 5).Select(_ =>
        {
            changes++;
            return writes.Persist();
        }).ToList();
        time.Advance(Spacing / 2);
        Assert.All(burst, p => Assert.False(p.IsCompleted)); // not yet written: no caller is told so
        time.Advance(Spacing / 2);
        await Task.WhenAll(burst);

        Assert.Equal(2, written.Count);
        Assert.Equal(6, written[1].Changes); // the second write covers the whole burst
        Assert.Equal(Spacing, written[1].At - written[0].At);
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
