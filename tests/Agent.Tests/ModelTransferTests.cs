using Microsoft.Extensions.Logging.Abstractions;
using Regatta.Learning.Weights;
using Regatta.Models;
using Regatta.WorkerAgent;

namespace Regatta.Tests;

/// <summary>Weights move in 1 MiB hash-checked chunks through grain calls; a broken download resumes; the cache avoids repeats.</summary>
public sealed class ModelTransferTests : IAsyncLifetime
{
    private RegattaCluster _cluster = null!;

    public async ValueTask InitializeAsync() => _cluster = await RegattaCluster.StartAsync();
    public async ValueTask DisposeAsync() => await _cluster.DisposeAsync();

    private ModelTransfer Transfer(string name) =>
        new(_cluster.Grains, Path.Combine(_cluster.DataDir, "cache-" + name), NullLogger.Instance);

    [Fact]
    public async Task A_100_MB_model_round_trips_in_chunks_and_a_broken_download_resumes()
    {
        var values = new float[25_000_000]; // 100 MB of float32
        var random = new Random(5);
        for (var i = 0; i < values.Length; i += 997) values[i] = (float)random.NextDouble();
        var bytes = new ModelWeights([new NamedTensor("big.weight", [5000, 5000], values)]).ToBytes();
        var uploader = Transfer("up");

        var hash = await uploader.UploadAsync(bytes, null, CancellationToken.None);

        Assert.Equal(ModelWeights.Hash(bytes), hash);
        var info = await _cluster.Grains.GetGrain<IBlobGrain>(hash).GetInfo();
        Assert.Equal(bytes.Length, info!.Length);
        Assert.Equal(BlobLimits.ChunkCount(bytes.Length), info.ChunkCount);

        // The first download breaks a third of the way through...
        var downloader = Transfer("down");
        using var breakOff = new CancellationTokenSource();
        var progress = new SynchronousProgress(f => { if (f > 0.33) breakOff.Cancel(); });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => downloader.FetchAsync(hash, progress, breakOff.Token));
        var before = downloader.BytesDownloaded;
        Assert.InRange(before, bytes.Length / 4, bytes.Length / 2);

        // ...and the next one fetches only what is missing.
        var fetched = await downloader.FetchAsync(hash, null, CancellationToken.None);

        Assert.Equal(bytes, fetched);
        Assert.InRange(downloader.BytesDownloaded, bytes.Length, bytes.Length + BlobLimits.ChunkSize);
        Assert.Equal(1, downloader.Downloads);
    }

    [Fact]
    public async Task An_unchanged_model_version_is_not_downloaded_again()
    {
        var bytes = new ModelWeights([new NamedTensor("w", [3], [1, 2, 3])]).ToBytes();
        var hash = await Transfer("up").UploadAsync(bytes, null, CancellationToken.None);
        var agent = Transfer("agent");

        await agent.FetchAsync(hash, null, CancellationToken.None);
        var downloaded = agent.BytesDownloaded;
        var again = await agent.FetchAsync(hash, null, CancellationToken.None);

        Assert.Equal(bytes, again);
        Assert.Equal(1, agent.Downloads);
        Assert.Equal(downloaded, agent.BytesDownloaded);
    }

    [Fact]
    public async Task Uploads_with_a_wrong_hash_or_bad_chunks_are_refused_and_leave_nothing_stored()
    {
        var bytes = new byte[3 * BlobLimits.ChunkSize + 10];
        new Random(1).NextBytes(bytes);
        var wrongKey = new string('a', 64);
        var blob = _cluster.Grains.GetGrain<IBlobGrain>(wrongKey);
        for (var i = 0; i < 4; i++)
            await blob.WriteChunk(bytes.Length, i, bytes[(i * BlobLimits.ChunkSize)..Math.Min(bytes.Length, (i + 1) * BlobLimits.ChunkSize)]);

        var mismatch = await Assert.ThrowsAsync<RegattaException>(() => blob.Seal(bytes.Length));
        Assert.Equal("hash_mismatch", mismatch.Code);
        Assert.Null(await blob.GetInfo());

        var shortChunk = await Assert.ThrowsAsync<RegattaException>(() => blob.WriteChunk(bytes.Length, 0, new byte[10]));
        Assert.Equal("bad_chunk", shortChunk.Code);
        var tooLarge = await Assert.ThrowsAsync<RegattaException>(() => blob.WriteChunk(BlobLimits.MaxBlobBytes + 1, 0, new byte[BlobLimits.ChunkSize]));
        Assert.Equal("blob_too_large", tooLarge.Code);
        var badKey = await Assert.ThrowsAsync<RegattaException>(() => _cluster.Grains.GetGrain<IBlobGrain>("not-a-hash").ReadChunk(0));
        Assert.Equal("bad_hash", badKey.Code);
    }

    private sealed class SynchronousProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
