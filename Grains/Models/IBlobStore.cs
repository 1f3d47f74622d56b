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

    // The streaming side, used by the HTTP data plane (Silo/Blobs). The defaults are built on the chunk calls above, so
    // every store supports it; a store may override them with something faster (the disk store hashes as it writes).

    /// <summary>
    /// Where an upload of <paramref name="totalLength"/> bytes resumes: the bytes from 0 already held contiguously, in
    /// whole chunks, and never past the start of the last chunk (the request that brings it seals the blob).
    /// The length once sealed.
    /// </summary>
    async Task<long> ResumeOffsetAsync(string hash, long totalLength)
    {
        var count = BlobRules.RequireLength(totalLength);
        BlobRules.RequireHash(hash);
        if (await InfoAsync(hash) is { } info) return info.Length;
        var missing = await MissingChunksAsync(hash, totalLength);
        return (long)Math.Min(missing.Count > 0 ? missing[0] : count - 1, count - 1) * BlobLimits.ChunkSize;
    }

    /// <summary>
    /// Writes <paramref name="body"/> into an upload of <paramref name="totalLength"/> bytes from <paramref name="offset"/>
    /// (see <see cref="ResumeOffsetAsync"/>) until the body ends. When that completes the blob, it is sealed (hash-checked)
    /// and returned; otherwise null, and what arrived in whole chunks is kept for a resumed upload. The body must not go
    /// past <paramref name="totalLength"/>. Never more than one chunk of the body is in memory.
    /// </summary>
    async Task<BlobInfo?> WriteAsync(string hash, long totalLength, long offset, Stream body, CancellationToken ct)
    {
        var count = BlobRules.RequireLength(totalLength);
        if (await InfoAsync(hash) is { } existing) return existing;
        BlobRules.RequireOffset(offset, await ResumeOffsetAsync(hash, totalLength));
        var buffer = new byte[BlobLimits.ChunkSize];
        for (var index = (int)(offset / BlobLimits.ChunkSize); index < count; index++)
        {
            var expected = (int)Math.Min(BlobLimits.ChunkSize, totalLength - (long)index * BlobLimits.ChunkSize);
            var read = await body.ReadAtLeastAsync(buffer.AsMemory(0, expected), expected, throwOnEndOfStream: false, ct);
            if (read < expected) return null; // the body ended early: a broken upload, resumed later from the last whole chunk
            await WriteChunkAsync(hash, totalLength, index, expected == buffer.Length ? buffer : buffer[..expected]);
        }
        await BlobRules.RequireEnd(body, totalLength, ct);
        return await SealAsync(hash, totalLength);
    }

    /// <summary>Copies bytes [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="count"/>) of a sealed blob to <paramref name="destination"/>.</summary>
    async Task CopyToAsync(string hash, long offset, long count, Stream destination, CancellationToken ct)
    {
        var info = await InfoAsync(hash) ?? throw BlobRules.Unknown(hash);
        BlobRules.RequireRange(info, offset, count);
        var end = offset + count;
        for (var index = (int)(offset / BlobLimits.ChunkSize); (long)index * BlobLimits.ChunkSize < end; index++)
        {
            var chunk = await ReadChunkAsync(hash, index);
            var start = (long)index * BlobLimits.ChunkSize;
            var from = (int)Math.Max(0, offset - start);
            var to = (int)Math.Min(chunk.Length, end - start);
            await destination.WriteAsync(chunk.AsMemory(from, to - from), ct);
        }
    }

    /// <summary>
    /// Receives a whole blob whose key the sender does not know yet (it hashes the same bytes while they travel), under
    /// <paramref name="uploadId"/> (64 lowercase hex characters the sender picks at random), and returns their SHA-256.
    /// Nothing is readable until <see cref="SealStagedAsync"/> names the same key. Null when the body ended early: the
    /// staged bytes are discarded (a staged upload does not resume; the sender then uploads under the key).
    /// Stores that cannot stage refuse with "staging_unsupported".
    /// </summary>
    Task<string?> StageAsync(string uploadId, long totalLength, Stream body, CancellationToken ct) =>
        throw new RegattaException("staging_unsupported", "this store takes uploads only under their key: PUT /blobs/{hash}");

    /// <summary>
    /// Makes a staged upload readable under <paramref name="hash"/> if its bytes hash to it; a mismatch discards it.
    /// Already stored: the staged copy is dropped and the stored blob returned.
    /// </summary>
    Task<BlobInfo> SealStagedAsync(string uploadId, string hash) =>
        throw new RegattaException("staging_unsupported", "this store takes uploads only under their key: PUT /blobs/{hash}");

    /// <summary>
    /// Deletes uploads abandoned half way: partial and staged bytes not written since <paramref name="writtenBefore"/>
    /// (a sender that went away, a silo stopped mid-body). Sealed blobs are never touched. Returns how many were dropped.
    /// </summary>
    Task<int> SweepAbandonedAsync(DateTimeOffset writtenBefore) => Task.FromResult(0);

    /// <summary>
    /// As <see cref="CopyToAsync(string, long, long, Stream, CancellationToken)"/>, into a pipe (the HTTP response's): a
    /// store may read straight into the pipe's buffers and save a copy of every byte.
    /// </summary>
    async Task CopyToAsync(string hash, long offset, long count, System.IO.Pipelines.PipeWriter destination, CancellationToken ct)
    {
        await using var stream = destination.AsStream(leaveOpen: true);
        await CopyToAsync(hash, offset, count, stream, ct);
    }
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

    /// <summary>An upload may start at 0 or resume at a chunk boundary it has reached, never beyond.</summary>
    public static void RequireOffset(long offset, long resumeAt)
    {
        if (offset < 0 || offset % BlobLimits.ChunkSize != 0 || offset > resumeAt)
            throw new RegattaException("bad_offset",
                $"an upload must start at 0 or resume at a multiple of {BlobLimits.ChunkSize} up to {resumeAt} (the bytes held so far), not at {offset}");
    }

    public static void RequireRange(BlobInfo info, long offset, long count)
    {
        if (offset < 0 || count < 0 || offset + count > info.Length)
            throw new RegattaException("bad_range", $"bytes [{offset}, {offset + count}) are outside blob {info.Hash} of {info.Length} bytes");
    }

    /// <summary>Refuses a body that goes on past the blob's declared length.</summary>
    public static async Task RequireEnd(Stream body, long totalLength, CancellationToken ct)
    {
        var probe = new byte[1];
        if (await body.ReadAsync(probe, ct) > 0)
            throw new RegattaException("blob_too_large", $"the body goes past the declared length of {totalLength} bytes");
    }

    public static RegattaException Unknown(string hash) => new("unknown_blob", $"blob {hash} is not stored");
}
