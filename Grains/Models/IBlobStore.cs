using Regatta.Models;

namespace Regatta.Grains.Models;

/// <summary>
/// Where content-addressed blobs live: the silo's disk in local mode (<see cref="BlobStore"/>), the shared database in
/// production (several silos must see the same blobs, since a <see cref="BlobGrain"/> may activate on any of them).
/// Keys are lowercase hex SHA-256 (<see cref="BlobStore.IsValidHash"/>); bad input is refused with a <see cref="RegattaException"/>.
/// </summary>
public interface IBlobStore
{
    /// <summary>Null until the blob is stored and sealed.</summary>
    Task<BlobInfo?> InfoAsync(string hash);
    /// <summary>Stores whole bytes under their SHA-256 and returns it; storing the same bytes again changes nothing.</summary>
    Task<string> PutAsync(byte[] bytes);
    Task<byte[]> ReadAllAsync(string hash);
    Task<byte[]> ReadChunkAsync(string hash, int index);
    /// <summary>One chunk of an upload, in any order, again after a break; a different total length starts the upload over.</summary>
    Task WriteChunkAsync(string hash, long totalLength, int index, byte[] data);
    Task<List<int>> MissingChunksAsync(string hash, long totalLength);
    /// <summary>Checks the uploaded bytes against the key and makes the blob readable; a mismatch discards the upload.</summary>
    Task<BlobInfo> SealAsync(string hash, long totalLength);
}

/// <summary>The input checks every <see cref="IBlobStore"/> makes, so both stores refuse the same things the same way.</summary>
public static class BlobRules
{
    public static void RequireHash(string hash)
    {
        if (!BlobStore.IsValidHash(hash)) throw new RegattaException("bad_hash", "a blob key must be 64 lowercase hex characters (SHA-256)");
    }

    /// <summary>Refuses a length outside [1, <see cref="BlobLimits.MaxBlobBytes"/>]; returns its chunk count.</summary>
    public static int RequireLength(long totalLength)
    {
        if (totalLength <= 0 || totalLength > BlobLimits.MaxBlobBytes)
            throw new RegattaException("blob_too_large", $"blob length {totalLength} must be in [1, {BlobLimits.MaxBlobBytes}]");
        return BlobLimits.ChunkCount(totalLength);
    }

    /// <summary>Refuses a chunk whose hash, total length, index or size does not fit; returns the blob's chunk count.</summary>
    public static int CheckChunk(string hash, long totalLength, int index, byte[] data)
    {
        RequireHash(hash);
        var count = RequireLength(totalLength);
        if (index < 0 || index >= count)
            throw new RegattaException("bad_chunk", $"chunk {index} out of range [0, {count})");
        var expected = (int)Math.Min(BlobLimits.ChunkSize, totalLength - (long)index * BlobLimits.ChunkSize);
        if (data.Length != expected)
            throw new RegattaException("bad_chunk", $"chunk {index} must be {expected} bytes, got {data.Length}");
        return count;
    }
}
