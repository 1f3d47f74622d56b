using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Regatta.Models;

namespace Regatta.Grains.Models;

/// <summary>
/// Content-addressed blobs on the silo's disk: {dataDir}/blobs/ab/abcdef…. Uploads land in a partial file with a
/// sidecar listing received chunks, so a broken transfer resumes; sealing checks the SHA-256 against the key.
/// </summary>
public sealed partial class BlobStore : IBlobStore
{
    /// <summary>Chunks of one upload in memory at once: the one being received and those the hasher has not reached yet.</summary>
    public const int UploadBuffers = 4;

    private readonly string _root;

    public BlobStore(IOptions<CoordinatorOptions> options)
        : this(Path.Combine(Path.GetFullPath(options.Value.DataDir), "blobs")) { }

    public BlobStore(string root)
    {
        _root = root;
        Directory.CreateDirectory(Path.Combine(_root, "partial"));
    }

    public static bool IsValidHash(string? hash) =>
        hash is { Length: 64 } && hash.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    public bool Exists(string hash) => File.Exists(PathOf(hash));

    public BlobInfo? Info(string hash)
    {
        var file = new FileInfo(PathOf(hash));
        return file.Exists ? new BlobInfo(hash, file.Length, BlobLimits.ChunkSize, BlobLimits.ChunkCount(file.Length)) : null;
    }

    public Task<BlobInfo?> InfoAsync(string hash) => Task.FromResult(Info(hash));

    public Task<List<int>> MissingChunksAsync(string hash, long totalLength) => Task.FromResult(MissingChunks(hash, totalLength));

    public async Task<string> PutAsync(byte[] bytes)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var target = PathOf(hash);
        if (File.Exists(target)) return hash;
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = Path.Combine(_root, "partial", $"{hash}.{Guid.NewGuid():N}.tmp");
        await File.WriteAllBytesAsync(temp, bytes);
        File.Move(temp, target, overwrite: true);
        return hash;
    }

    public Task<byte[]> ReadAllAsync(string hash)
    {
        RequireHash(hash);
        var path = PathOf(hash);
        if (!File.Exists(path)) throw new RegattaException("unknown_blob", $"blob {hash} is not stored");
        return File.ReadAllBytesAsync(path);
    }

    public async Task<byte[]> ReadChunkAsync(string hash, int index)
    {
        var info = Info(hash) ?? throw new RegattaException("unknown_blob", $"blob {hash} is not stored");
        if (index < 0 || index >= info.ChunkCount)
            throw new RegattaException("bad_chunk", $"chunk {index} out of range [0, {info.ChunkCount})");
        var offset = (long)index * BlobLimits.ChunkSize;
        var buffer = new byte[(int)Math.Min(BlobLimits.ChunkSize, info.Length - offset)];
        await using var stream = new FileStream(PathOf(hash), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous);
        stream.Position = offset;
        await stream.ReadExactlyAsync(buffer);
        return buffer;
    }

    public async Task WriteChunkAsync(string hash, long totalLength, int index, byte[] data)
    {
        BlobRules.CheckChunk(hash, totalLength, index, data);
        if (Exists(hash)) return;
        var (partial, sidecar) = PartialPaths(hash);
        await using (var stream = OpenPartial(partial))
        {
            if (stream.Length != totalLength) stream.SetLength(totalLength);
            stream.Position = (long)index * BlobLimits.ChunkSize;
            await stream.WriteAsync(data);
            await stream.FlushAsync();
        }
        await File.AppendAllTextAsync(sidecar, $"{totalLength}:{index}\n");
    }

    public List<int> MissingChunks(string hash, long totalLength)
    {
        RequireHash(hash);
        var count = BlobLimits.ChunkCount(totalLength);
        if (Exists(hash)) return [];
        var received = Received(hash, totalLength);
        return Enumerable.Range(0, count).Where(i => !received.Contains(i)).ToList();
    }

    public async Task<BlobInfo> SealAsync(string hash, long totalLength)
    {
        if (Info(hash) is { } existing) return existing;
        var missing = MissingChunks(hash, totalLength);
        if (missing.Count > 0)
            throw new RegattaException("incomplete_blob", $"blob {hash} is missing {missing.Count} chunks (first {missing[0]})");
        var (partial, sidecar) = PartialPaths(hash);
        string actual;
        await using (var stream = File.OpenRead(partial))
            actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));
        return Publish(hash, actual, partial, sidecar);
    }

    /// <summary>
    /// The HTTP upload path: streams the body into the partial file while a second thread hashes what was written (after
    /// the part already held when resuming, re-read from disk), so the SHA-256 overlaps the transfer and sealing needs no
    /// second read. Chunks are recorded in the sidecar once written. At most <see cref="UploadBuffers"/> chunks in memory.
    /// </summary>
    public async Task<BlobInfo?> WriteAsync(string hash, long totalLength, long offset, Stream body, CancellationToken ct)
    {
        var count = BlobRules.RequireLength(totalLength);
        if (Info(hash) is { } existing) return existing;
        var received = Received(hash, totalLength);
        var held = 0;
        while (held < count - 1 && received.Contains(held)) held++;
        BlobRules.RequireOffset(offset, (long)held * BlobLimits.ChunkSize);
        var (partial, sidecar) = PartialPaths(hash);
        string actual;
        await using (var hasher = new BlobHasher(UploadBuffers))
        {
            await using (var file = OpenPartial(partial))
            await using (var chunks = new FileStream(sidecar, FileMode.Append, FileAccess.Write, FileShare.Read, 1))
            {
                if (file.Length != totalLength) file.SetLength(totalLength);
                for (long at = 0; at < offset; at += BlobLimits.ChunkSize)
                {
                    // Resuming: the held prefix is hashed from disk, so the digest still covers every byte in order.
                    var n = (int)Math.Min(BlobLimits.ChunkSize, offset - at);
                    var buffer = await hasher.RentAsync(ct);
                    await RandomAccess.ReadAsync(file.SafeFileHandle, buffer.AsMemory(0, n), at, ct);
                    hasher.AppendRented(buffer, n);
                }
                for (var index = (int)(offset / BlobLimits.ChunkSize); index < count; index++)
                {
                    var at = (long)index * BlobLimits.ChunkSize;
                    var expected = (int)Math.Min(BlobLimits.ChunkSize, totalLength - at);
                    var buffer = await hasher.RentAsync(ct);
                    var read = await body.ReadAtLeastAsync(buffer.AsMemory(0, expected), expected, throwOnEndOfStream: false, ct);
                    // A body that ended early is a broken upload: whole chunks are kept, a torn one is written again on resume.
                    if (read < expected) return null;
                    await RandomAccess.WriteAsync(file.SafeFileHandle, buffer.AsMemory(0, expected), at, ct);
                    hasher.AppendRented(buffer, expected);
                    await chunks.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"{totalLength}:{index}\n"), ct);
                }
                await BlobRules.RequireEnd(body, totalLength, ct);
            }
            actual = await hasher.FinishAsync();
        }
        return Publish(hash, actual, partial, sidecar);
    }

    /// <summary>Makes a finished upload visible under its hash, or discards it when its bytes hash to something else.</summary>
    private BlobInfo Publish(string hash, string actual, string partial, string sidecar)
    {
        if (actual != hash)
        {
            File.Delete(partial);
            File.Delete(sidecar);
            throw new RegattaException("hash_mismatch", $"uploaded bytes hash to {actual}, not {hash}; upload discarded");
        }
        var target = PathOf(hash);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Move(partial, target, overwrite: true);
        File.Delete(sidecar);
        return Info(hash)!;
    }

    public async Task CopyToAsync(string hash, long offset, long count, Stream destination, CancellationToken ct)
    {
        var info = Info(hash) ?? throw BlobRules.Unknown(hash);
        BlobRules.RequireRange(info, offset, count);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BlobLimits.ChunkSize);
        try
        {
            using var handle = File.OpenHandle(PathOf(hash), FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
            for (var at = offset; at < offset + count;)
            {
                var n = await RandomAccess.ReadAsync(handle, buffer.AsMemory(0, (int)Math.Min(BlobLimits.ChunkSize, offset + count - at)), at, ct);
                if (n == 0) throw new InvalidDataException($"blob {hash} ends at {at}, before its recorded length {info.Length}");
                await destination.WriteAsync(buffer.AsMemory(0, n), ct);
                at += n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads the file straight into the pipe's buffers (the HTTP response's), so each byte is copied once on its way out.</summary>
    public async Task CopyToAsync(string hash, long offset, long count, System.IO.Pipelines.PipeWriter destination, CancellationToken ct)
    {
        var info = Info(hash) ?? throw BlobRules.Unknown(hash);
        BlobRules.RequireRange(info, offset, count);
        using var handle = File.OpenHandle(PathOf(hash), FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        for (var at = offset; at < offset + count;)
        {
            var memory = destination.GetMemory(64 * 1024); // a whole buffer of the transport's pool (see BlobTransport)
            var want = (int)Math.Min(memory.Length, offset + count - at);
            var n = await RandomAccess.ReadAsync(handle, memory[..want], at, ct);
            if (n == 0) throw new InvalidDataException($"blob {hash} ends at {at}, before its recorded length {info.Length}");
            destination.Advance(n);
            at += n;
            var flush = await destination.FlushAsync(ct);
            if (flush.IsCanceled || flush.IsCompleted) throw new OperationCanceledException("the client stopped reading");
        }
    }

    /// <summary>One writer per upload: a second one at the same time (another HTTP request, a chunk call) is refused.</summary>
    private static FileStream OpenPartial(string partial)
    {
        try
        {
            return new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
        }
        catch (IOException e) when (File.Exists(partial))
        {
            throw new RegattaException("upload_busy", $"another upload of this blob is in progress ({e.Message}); retry later");
        }
    }

    private HashSet<int> Received(string hash, long totalLength)
    {
        var (_, sidecar) = PartialPaths(hash);
        if (!File.Exists(sidecar)) return [];
        var prefix = totalLength + ":";
        return File.ReadLines(sidecar).Where(l => l.StartsWith(prefix, StringComparison.Ordinal))
            .Select(l => int.Parse(l.AsSpan(prefix.Length), System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
    }

    private (string Partial, string Sidecar) PartialPaths(string hash) =>
        (Path.Combine(_root, "partial", hash + ".part"), Path.Combine(_root, "partial", hash + ".chunks"));

    private string PathOf(string hash)
    {
        RequireHash(hash);
        return Path.Combine(_root, hash[..2], hash);
    }

    private static void RequireHash(string hash) => BlobRules.RequireHash(hash);
}
