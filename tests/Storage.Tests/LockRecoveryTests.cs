using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Regatta.Storage.Tests;

/// <summary>
/// The pitfall from the notes: a write query that opens its own transaction leaves it open on a pooled
/// connection after a lock timeout, and every later write fails with "cannot start a transaction within a
/// transaction". Ours are single autocommit statements; this proves the store recovers.
/// </summary>
public sealed class LockRecoveryTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public async Task Writes_recover_after_a_lock_held_past_the_busy_timeout()
    {
        var busy = TimeSpan.FromSeconds(1);
        await using var silo = await TestSilo.StartAsync(dir.DataDir, "locked", o => o.BusyTimeout = busy);
        var grain = silo.Grains.GetGrain<ICounterGrain>("lock");
        var other = silo.Grains.GetGrain<ICounterGrain>("lock-2");
        Assert.Equal("1", (await grain.Set(new CounterState { Label = "before", Count = 1 })).ETag);
        Assert.Equal("1", (await other.Set(new CounterState { Label = "before", Count = 1 })).ETag);

        using (var blocker = new SqliteConnection($"Data Source={dir.DatabasePath};Pooling=False"))
        {
            blocker.Open();
            using (var begin = blocker.CreateCommand())
            {
                begin.CommandText = "BEGIN IMMEDIATE;"; // takes the write lock and keeps it
                begin.ExecuteNonQuery();
            }

            var watch = Stopwatch.StartNew();
            var error = await Assert.ThrowsAnyAsync<Exception>(() => grain.Set(new CounterState { Label = "blocked", Count = 2 }));
            watch.Stop();
            Assert.Contains("locked", error.ToString(), StringComparison.OrdinalIgnoreCase);
            Assert.True(watch.Elapsed >= busy - TimeSpan.FromMilliseconds(100), $"failed after {watch.Elapsed}, before the busy timeout");

            // A second failure on another grain (and so possibly another pooled connection).
            await Assert.ThrowsAnyAsync<Exception>(() => other.Set(new CounterState { Label = "blocked", Count = 2 }));

            using var rollback = blocker.CreateCommand();
            rollback.CommandText = "ROLLBACK;";
            rollback.ExecuteNonQuery();
        }

        // Released: the failed writes changed nothing, so the grains' ETags still match and every later
        // write succeeds, on whichever pooled connection it gets.
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal((2 + i).ToString(), (await grain.Set(new CounterState { Label = $"after {i}", Count = 3 + i })).ETag);
            Assert.Equal((2 + i).ToString(), (await other.Set(new CounterState { Label = $"after {i}", Count = 3 + i })).ETag);
        }

        // Reminders share the file and the pool: they work too.
        await silo.Grains.GetGrain<IReminderProbeGrain>("lock-reminder").Register(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5));
        await silo.Grains.GetGrain<IReminderProbeGrain>("lock-reminder").Unregister();

        var reread = await grain.Reload();
        Assert.Equal("11", reread.ETag);
        Assert.Equal("after 9", reread.State.Label);
    }

    /// <summary>
    /// A burst far beyond what SQLite takes at once (one writer): the providers queue for the store without sleeping
    /// threads in SQLite's busy handler, so every write lands inside a short busy timeout and reads back intact.
    /// </summary>
    [Fact]
    public async Task A_thousand_concurrent_grain_writes_all_land_and_read_back()
    {
        await using var silo = await TestSilo.StartAsync(dir.DataDir, "burst", o => o.BusyTimeout = TimeSpan.FromSeconds(1));
        var ids = Enumerable.Range(0, 1000).Select(i => $"burst-{i}").ToList();

        var written = await Task.WhenAll(ids.Select((id, i) => silo.Grains.GetGrain<ICounterGrain>(id).Set(new CounterState { Label = id, Count = i })));
        Assert.All(written, w => Assert.Equal("1", w.ETag));

        var read = await Task.WhenAll(ids.Select(id => silo.Grains.GetGrain<ICounterGrain>(id).Reload()));
        Assert.Equal(ids, read.Select(r => r.State.Label));
        Assert.Equal(Enumerable.Range(0, 1000), read.Select(r => r.State.Count));
    }
}
