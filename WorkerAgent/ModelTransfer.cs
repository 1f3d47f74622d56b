using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Regatta.Models;

namespace Regatta.WorkerAgent;

/// <summary>
/// Moves content-addressed blobs between the agent and the cluster in 1 MiB chunks (no Orleans message comes near
/// its limit). Downloads land in a local cache keyed by hash and are skipped when the hash is already there; a
/// broken download resumes from the chunks already on disk; uploads send only the chunks the silo lacks.
/// </summary>
public sealed class ModelTransfer(IGrainFactory grains, string cacheDir, ILogger logger)
{
    public int Downloads { get; private set; }
    public long BytesDownloaded { get; private set; }
    public long BytesUploaded { get; private set; }

    public string CacheDir { get; } = Directory.CreateDirectory(cacheDir).FullName;

    public string CachedPath(string hash) => Path.Combine(CacheDir, hash + ".blob");

    /// <summary>Returns the blob's bytes, from the cache when its hash is there, else downloaded and checked.</summary>
    public async Task<byte[]> FetchAsync(string hash, IProgress<double>? progress, CancellationToken ct)
    {
        if (!IsHash(hash)) throw new ArgumentException($"not a SHA-256 hex hash: '{hash}'", nameof(hash));
        var cached = CachedPath(hash);
        if (File.Exists(cached))
        {
            var bytes = await File.ReadAllBytesAsync(cached, ct);
            if (Hash(bytes) == hash) return bytes;
            logger.LogWarning("Cached blob {Hash} is corrupt; downloading again", hash);
            File.Delete(cached);
        }
        var blob = grains.GetGrain<IBlobGrain>(hash);
        var info = await blob.GetInfo() ?? throw new InvalidOperationException($"the cluster has no blob {hash}");
        var partial = cached + ".part";
        var watch = Stopwatch.StartNew();
        await using (var file = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite))
        {
            // Whole chunks already on disk from a broken transfer are kept.
            var done = (int)Math.Min(file.Length / info.ChunkSize, info.ChunkCount);
            file.SetLength((long)done * info.ChunkSize);
            file.Position = file.Length;
            for (var i = done; i < info.ChunkCount; i++)
            {
                var chunk = await blob.ReadChunk(i);
                var expected = (int)Math.Min(info.ChunkSize, info.Length - (long)i * info.ChunkSize);
                if (chunk.Length != expected) throw new InvalidDataException($"chunk {i} of {hash} has {chunk.Length} bytes, expected {expected}");
                await file.WriteAsync(chunk, ct);
                BytesDownloaded += chunk.Length;
                progress?.Report((i + 1.0) / info.ChunkCount);
            }
        }
        var data = await File.ReadAllBytesAsync(partial, ct);
        if (Hash(data) != hash)
        {
            File.Delete(partial);
            throw new InvalidDataException($"downloaded bytes do not hash to {hash}; discarded");
        }
        File.Move(partial, cached, overwrite: true);
        Downloads++;
        logger.LogInformation("Downloaded {Hash} ({Bytes:N0} bytes) in {Ms} ms", hash[..12], data.Length, watch.ElapsedMilliseconds);
        return data;
    }

    /// <summary>Uploads bytes (skipping chunks the silo already has) and returns their hash once the silo has sealed them.</summary>
    public async Task<string> UploadAsync(byte[] bytes, IProgress<double>? progress, CancellationToken ct)
    {
        if (bytes.Length == 0 || bytes.Length > BlobLimits.MaxBlobBytes)
            throw new ArgumentException($"blob size {bytes.Length} out of range");
        var hash = Hash(bytes);
        await File.WriteAllBytesAsync(CachedPath(hash), bytes, ct);
        var blob = grains.GetGrain<IBlobGrain>(hash);
        if (await blob.GetInfo() is not null) return hash;
        var missing = await blob.GetMissingChunks(bytes.Length);
        for (var n = 0; n < missing.Count; n++)
        {
            ct.ThrowIfCancellationRequested();
            var i = missing[n];
            var offset = i * BlobLimits.ChunkSize;
            var chunk = bytes.AsSpan(offset, Math.Min(BlobLimits.ChunkSize, bytes.Length - offset)).ToArray();
            await blob.WriteChunk(bytes.Length, i, chunk);
            BytesUploaded += chunk.Length;
            progress?.Report((n + 1.0) / missing.Count);
        }
        await blob.Seal(bytes.Length);
        return hash;
    }

    public static string Hash(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static bool IsHash(string hash) => hash is { Length: 64 } && hash.All(char.IsAsciiHexDigitLower);
}
