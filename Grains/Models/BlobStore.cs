using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Regatta.Models;

namespace Regatta.Grains.Models;

/// <summary>
/// Content-addressed blobs on the silo's disk: {dataDir}/blobs/ab/abcdef…. Uploads land in a partial file with a
/// sidecar listing received chunks, so a broken transfer resumes; sealing checks the SHA-256 against the key.
/// </summary>
public sealed class BlobStore : IBlobStore
{
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
        await using (var stream = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
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
