using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Regatta.Grains.Models;
using Regatta.Models;

namespace Regatta.Grains.Tests.Models;

/// <summary>Abandoned partial uploads are deleted once not written for the configured age; sealed blobs and fresh uploads stay.</summary>
public sealed class UploadSweepTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("regatta-sweep-");
    private readonly BlobStore _store;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow); // file times come from the real clock
    private readonly CoordinatorOptions _options = new() { AbandonedUploadAge = TimeSpan.FromHours(1), UploadSweepInterval = TimeSpan.FromMinutes(10) };

    public UploadSweepTests() => _store = new BlobStore(_dir.FullName);
    public void Dispose() => _dir.Delete(recursive: true);

    private string Partial => Path.Combine(_dir.FullName, "partial");
    private UploadSweeper Sweeper() => new(_store, Options.Create(_options), _time, NullLogger<UploadSweeper>.Instance);

    [Fact]
    public async Task Uploads_not_written_for_the_age_are_deleted_and_the_rest_kept()
    {
        var sealedHash = await _store.PutAsync([1, 2, 3]);
        var old = await StartUpload(1, writtenAgo: TimeSpan.FromHours(2));
        var young = await StartUpload(2, writtenAgo: TimeSpan.FromMinutes(10));
        var staging = Path.Combine(Partial, new string('c', 64) + ".staging");
        File.WriteAllBytes(staging, [9]);
        File.SetLastWriteTimeUtc(staging, (_time.GetUtcNow() - TimeSpan.FromHours(3)).UtcDateTime);

        Assert.Equal(2, await Sweeper().SweepOnceAsync()); // the old chunked upload (.part + .chunks) and the staging body

        Assert.Equal([young + ".chunks", young + ".part"], Files());
        Assert.Equal([0, 1], await _store.MissingChunksAsync(old, 2L * BlobLimits.ChunkSize)); // its sender starts over
        Assert.Equal([1, 2, 3], await _store.ReadAllAsync(sealedHash));

        _time.Advance(TimeSpan.FromHours(1)); // now the young one has not been written for 1 h 10 min
        Assert.Equal(1, await Sweeper().SweepOnceAsync());
        Assert.Empty(Files());
        Assert.Equal([1, 2, 3], await _store.ReadAllAsync(sealedHash));
    }

    [Fact]
    public async Task The_sweeper_runs_every_interval_on_its_clock()
    {
        await StartUpload(1, writtenAgo: TimeSpan.FromMinutes(55));
        using var sweeper = Sweeper();
        var passes = new List<TaskCompletionSource<int>> { new(TaskCreationOptions.RunContinuationsAsynchronously) };
        sweeper.Swept += n =>
        {
            lock (passes)
            {
                passes[^1].TrySetResult(n);
                passes.Add(new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously));
            }
        };
        await sweeper.StartAsync(CancellationToken.None);

        _time.Advance(_options.UploadSweepInterval); // 65 min since written: abandoned
        Assert.Equal(1, await passes[0].Task.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Empty(Files());

        await sweeper.StopAsync(CancellationToken.None);
    }

    /// <summary>Writes the first of two chunks of an upload and dates its files <paramref name="writtenAgo"/>.</summary>
    private async Task<string> StartUpload(int seed, TimeSpan writtenAgo)
    {
        var hash = Convert.ToHexStringLower(BitConverter.GetBytes((long)seed)).PadLeft(64, 'a');
        await _store.WriteChunkAsync(hash, 2L * BlobLimits.ChunkSize, 0, new byte[BlobLimits.ChunkSize]);
        foreach (var file in Directory.EnumerateFiles(Partial, hash + ".*"))
            File.SetLastWriteTimeUtc(file, (_time.GetUtcNow() - writtenAgo).UtcDateTime);
        return hash;
    }

    private string[] Files() => Directory.EnumerateFiles(Partial).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
}
