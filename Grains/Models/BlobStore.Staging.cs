using Regatta.Models;

namespace Regatta.Grains.Models;

/// <summary>
/// Staged uploads: the sender streams a blob before it knows the key (it hashes the bytes on its second core while they
/// travel, instead of hashing first and sending after), the store hashes them as they arrive, and the blob becomes
/// readable only when the sender's own hash names the same key. Files: blobs/partial/{id}.staging while receiving,
/// {id}.{sha256}.staged once complete; left-overs older than <see cref="StagedLifetime"/> are swept by the next upload.
/// </summary>
public sealed partial class BlobStore
{
    /// <summary>How long a complete but unsealed staged upload is kept (its sender seals it right after the body).</summary>
    public static readonly TimeSpan StagedLifetime = TimeSpan.FromMinutes(15);

    public async Task<string?> StageAsync(string uploadId, long totalLength, Stream body, CancellationToken ct)
    {
        RequireUploadId(uploadId);
        var count = BlobRules.RequireLength(totalLength);
        SweepStaged();
        var staging = Path.Combine(_root, "partial", uploadId + ".staging");
        if (Staged(uploadId) is not null) throw Busy(uploadId);
        FileStream file;
        try
        {
            // CreateNew: one body per upload id; a second one (a replay, a clash) is refused rather than mixed in.
            // Preallocated: the file system reserves the space once instead of growing the file chunk by chunk.
            file = new FileStream(staging, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1,
                Options = FileOptions.Asynchronous, PreallocationSize = totalLength,
            });
        }
        catch (IOException) when (File.Exists(staging))
        {
            throw Busy(uploadId);
        }
        var complete = false;
        try
        {
            string hash;
            await using (var hasher = new BlobHasher(UploadBuffers))
            {
                await using (file)
                {
                    for (var index = 0; index < count; index++)
                    {
                        var at = (long)index * BlobLimits.ChunkSize;
                        var expected = (int)Math.Min(BlobLimits.ChunkSize, totalLength - at);
                        var buffer = await hasher.RentAsync(ct);
                        var read = await body.ReadAtLeastAsync(buffer.AsMemory(0, expected), expected, throwOnEndOfStream: false, ct);
                        if (read < expected) return null; // broken off: discarded below
                        await RandomAccess.WriteAsync(file.SafeFileHandle, buffer.AsMemory(0, expected), at, ct);
                        hasher.AppendRented(buffer, expected);
                    }
                    await BlobRules.RequireEnd(body, totalLength, ct);
                }
                hash = await hasher.FinishAsync();
            }
            File.Move(staging, StagedPath(uploadId, hash));
            complete = true;
            return hash;
        }
        finally
        {
            if (!complete) File.Delete(staging);
        }
    }

    public Task<BlobInfo> SealStagedAsync(string uploadId, string hash)
    {
        RequireUploadId(uploadId);
        RequireHash(hash);
        var staged = Staged(uploadId) ?? throw new RegattaException("unknown_upload", $"no complete staged upload {uploadId[..12]}…");
        var actual = Path.GetFileNameWithoutExtension(staged)[(uploadId.Length + 1)..];
        if (actual != hash)
        {
            File.Delete(staged);
            throw new RegattaException("hash_mismatch", $"uploaded bytes hash to {actual}, not {hash}; upload discarded");
        }
        var target = PathOf(hash);
        try
        {
            if (File.Exists(target)) File.Delete(staged); // content-addressed: the stored copy is the same bytes
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Move(staged, target, overwrite: true);
            }
        }
        catch (FileNotFoundException)
        {
            // A concurrent seal of the same upload got there first: fine if it stored the blob.
            if (!File.Exists(target)) throw new RegattaException("unknown_upload", $"staged upload {uploadId[..12]}… went away while being sealed");
        }
        return Task.FromResult(Info(hash)!);
    }

    private string? Staged(string uploadId) =>
        Directory.EnumerateFiles(Path.Combine(_root, "partial"), uploadId + ".*.staged").FirstOrDefault();

    private string StagedPath(string uploadId, string hash) => Path.Combine(_root, "partial", $"{uploadId}.{hash}.staged");

    /// <summary>Drops staged uploads nobody sealed (the sender went away between body and seal, or the silo stopped mid-body).</summary>
    private void SweepStaged()
    {
        var cutoff = DateTime.UtcNow - StagedLifetime;
        var partial = Path.Combine(_root, "partial");
        foreach (var path in Directory.EnumerateFiles(partial, "*.staged").Concat(Directory.EnumerateFiles(partial, "*.staging")))
            if (File.GetLastWriteTimeUtc(path) < cutoff)
                try { File.Delete(path); } catch (IOException) { /* being sealed right now */ }
    }

    /// <summary>
    /// Deletes every upload in blobs/partial whose files were all last written before <paramref name="writtenBefore"/>:
    /// chunked uploads ({hash}.part with its .chunks sidecar), staged bodies (.staging, .staged) and stray .tmp files.
    /// Files of one upload (same name up to the first dot) go together, and only when none of them is recent.
    /// </summary>
    public Task<int> SweepAbandonedAsync(DateTimeOffset writtenBefore)
    {
        var cutoff = writtenBefore.UtcDateTime;
        var swept = 0;
        var uploads = new DirectoryInfo(Path.Combine(_root, "partial")).EnumerateFiles()
            .GroupBy(f => f.Name.Split('.')[0], StringComparer.Ordinal);
        foreach (var upload in uploads)
        {
            if (upload.Any(f => f.LastWriteTimeUtc >= cutoff)) continue;
            foreach (var file in upload)
                try { file.Delete(); } catch (IOException) { /* being written or sealed right now */ }
            swept++;
        }
        return Task.FromResult(swept);
    }

    private static void RequireUploadId(string uploadId)
    {
        if (!IsValidHash(uploadId)) throw new RegattaException("bad_upload_id", "an upload id must be 64 lowercase hex characters (random)");
    }

    private static RegattaException Busy(string uploadId) =>
        new("upload_busy", $"upload {uploadId[..12]}… already has a body; pick a new upload id");
}
