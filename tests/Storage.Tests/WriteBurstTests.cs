namespace Regatta.Storage.Tests;

/// <summary>
/// A burst of grain writes far beyond what SQLite takes at once (one writer): the providers queue for the store
/// without sleeping threads in SQLite's busy handler, so every write lands well inside a short busy timeout and
/// reads back intact, and the silo still answers other calls meanwhile.
/// </summary>
public sealed class WriteBurstTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

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
