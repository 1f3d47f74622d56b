using Microsoft.Data.Sqlite;
using Orleans.Storage;

namespace Regatta.Storage.Tests;

/// <summary>Grain state through the Orleans ADO.NET provider on the project's SQLite schema, with real silos.</summary>
public sealed class GrainPersistenceTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static CounterState State(string label, int count, params string[] tags)
        => new() { Label = label, Count = count, UpdatedAt = new DateTime(2025, 3, 4, 5, 6, 7, DateTimeKind.Utc).AddMinutes(count), Tags = tags };

    private static void AssertSameState(CounterState expected, CounterState actual)
    {
        Assert.Equal(expected.Label, actual.Label);
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.UpdatedAt, actual.UpdatedAt);
        Assert.Equal(expected.Tags, actual.Tags);
    }

    [Fact]
    public async Task State_and_etag_survive_a_restart_on_the_same_file()
    {
        var second = State("two", 2, "a", "b");
        await using (var silo = await TestSilo.StartAsync(dir.DataDir, "first"))
        {
            var grain = silo.Grains.GetGrain<ICounterGrain>("alpha");
            var fresh = await grain.Get();
            Assert.False(fresh.RecordExists);
            Assert.Null(fresh.ETag);

            Assert.Equal("1", (await grain.Set(State("one", 1))).ETag);
            var written = await grain.Set(second);
            Assert.Equal("2", written.ETag);
            Assert.True(written.RecordExists);
        }

        await using (var silo = await TestSilo.StartAsync(dir.DataDir, "second"))
        {
            var grain = silo.Grains.GetGrain<ICounterGrain>("alpha");
            var read = await grain.Get();
            Assert.Equal("second", read.Host);
            Assert.True(read.RecordExists);
            Assert.Equal("2", read.ETag);
            AssertSameState(second, read.State);

            Assert.Equal("3", (await grain.Set(State("three", 3))).ETag);
            var cleared = await grain.Clear();
            Assert.False(cleared.RecordExists);
            Assert.Equal("4", cleared.ETag);
            AssertSameState(new CounterState(), cleared.State);
        }

        await using (var silo = await TestSilo.StartAsync(dir.DataDir, "third"))
        {
            var grain = silo.Grains.GetGrain<ICounterGrain>("alpha");
            var read = await grain.Get();
            Assert.False(read.RecordExists); // cleared: the row stays with its version, the payload is gone
            Assert.Equal("4", read.ETag);
            AssertSameState(new CounterState(), read.State);
            Assert.Equal("5", (await grain.Set(State("five", 5))).ETag);
        }

        // One row for the grain, not one per write.
        await using var connection = new SqliteConnection($"Data Source={dir.DatabasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), MAX(Version) FROM OrleansStorage WHERE GrainTypeString = 'counter'";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(1L, reader.GetInt64(0));
        Assert.Equal(5L, reader.GetInt64(1));
    }

    [Fact]
    public async Task Stale_writes_raise_InconsistentStateException()
    {
        // Two independent silos on one file, both holding an activation of the same grain (a split brain).
        await using var a = await TestSilo.StartAsync(dir.DataDir, "a");
        await using var b = await TestSilo.StartAsync(dir.DataDir, "b");
        var onA = a.Grains.GetGrain<ICounterGrain>("contested");
        var onB = b.Grains.GetGrain<ICounterGrain>("contested");
        Assert.Null((await onA.Get()).ETag);
        Assert.Null((await onB.Get()).ETag);

        // Both believe there is no record; the first insert wins, the second is a conflict.
        Assert.Equal("1", (await onA.Set(State("from a", 1))).ETag);
        await Assert.ThrowsAsync<InconsistentStateException>(() => onB.Set(State("from b", 1)));

        // b catches up (re-reads version 1) and writes version 2; a still holds ETag 1.
        var reloaded = await onB.Reload();
        Assert.Equal("1", reloaded.ETag);
        Assert.Equal("from a", reloaded.State.Label);
        Assert.Equal("2", (await onB.Set(State("from b", 2))).ETag);
        await Assert.ThrowsAsync<InconsistentStateException>(() => onA.Set(State("stale a", 2)));

        // A stale clear is refused too.
        var onBAgain = b.Grains.GetGrain<ICounterGrain>("contested");
        Assert.Equal("3", (await onBAgain.Set(State("b again", 3))).ETag);
        var staleA = await onA.Reload(); // version 3
        Assert.Equal("3", staleA.ETag);
        Assert.Equal("4", (await onBAgain.Set(State("b moves on", 4))).ETag);
        await Assert.ThrowsAsync<InconsistentStateException>(() => onA.Clear());

        var final = await onBAgain.Reload();
        Assert.Equal("4", final.ETag);
        Assert.Equal("b moves on", final.State.Label);
    }

    [Fact]
    public async Task Concurrent_writes_from_many_grains_all_succeed()
    {
        const int grains = 100, writes = 10;
        await using var silo = await TestSilo.StartAsync(dir.DataDir, "load");
        var results = await Task.WhenAll(Enumerable.Range(0, grains).Select(async g =>
        {
            var grain = silo.Grains.GetGrain<ICounterGrain>($"load-{g}");
            StateSnapshot last = await grain.Get();
            for (var i = 1; i <= writes; i++)
                last = await grain.Set(State($"g{g}", i));
            return last;
        }));
        Assert.All(results, r => Assert.Equal(writes.ToString(), r.ETag));

        await using var connection = new SqliteConnection($"Data Source={dir.DatabasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), MIN(Version), MAX(Version) FROM OrleansStorage";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal((long)grains, reader.GetInt64(0));
        Assert.Equal((long)writes, reader.GetInt64(1));
        Assert.Equal((long)writes, reader.GetInt64(2));
    }

    [Fact]
    public async Task Default_storage_is_the_same_sqlite_file()
    {
        await using (var silo = await TestSilo.StartAsync(dir.DataDir, "first"))
            Assert.Equal("1", (await silo.Grains.GetGrain<IDefaultStorageGrain>("d").Set(State("default", 7))).ETag);

        await using (var silo = await TestSilo.StartAsync(dir.DataDir, "second"))
        {
            var read = await silo.Grains.GetGrain<IDefaultStorageGrain>("d").Get();
            Assert.Equal("1", read.ETag);
            Assert.Equal("default", read.State.Label);
        }
    }

    [Fact]
    public async Task Grain_types_with_the_same_key_and_state_name_keep_separate_state()
    {
        await using (var silo = await TestSilo.StartAsync(dir.DataDir, "first"))
        {
            Assert.Equal("1", (await silo.Grains.GetGrain<ICounterGrain>("same").Set(State("counter", 1))).ETag);
            Assert.Equal("1", (await silo.Grains.GetGrain<IOtherCounterGrain>("same").Set(State("other", 2))).ETag);
        }

        await using (var silo = await TestSilo.StartAsync(dir.DataDir, "second"))
        {
            Assert.Equal("counter", (await silo.Grains.GetGrain<ICounterGrain>("same").Get()).State.Label);
            Assert.Equal("other", (await silo.Grains.GetGrain<IOtherCounterGrain>("same").Get()).State.Label);
        }
    }

    [Fact]
    public async Task Without_type_isolation_Orleans_keys_state_by_state_name_and_key_only()
    {
        // Documents dotnet/orleans#8746, the reason IsolateGrainTypes is on by default.
        await using var silo = await TestSilo.StartAsync(dir.DataDir, "plain", o => o.IsolateGrainTypes = false);
        var counter = silo.Grains.GetGrain<ICounterGrain>("same");
        var other = silo.Grains.GetGrain<IOtherCounterGrain>("same");
        Assert.Null((await counter.Get()).ETag);
        Assert.Null((await other.Get()).ETag);
        Assert.Equal("1", (await counter.Set(State("counter", 1))).ETag);
        await Assert.ThrowsAsync<InconsistentStateException>(() => other.Set(State("other", 2)));
    }
}
