namespace Regatta.Models;

/// <summary>A content-addressed blob (model version, update, run kit). Key: lowercase hex SHA-256 of its bytes.</summary>
[Alias("regatta.IBlobGrain")]
public interface IBlobGrain : IGrainWithStringKey
{
    /// <summary>Null when the blob is not stored (yet).</summary>
    [Alias("GetInfo")] Task<BlobInfo?> GetInfo();
    [Alias("ReadChunk")] Task<byte[]> ReadChunk(int index);
    /// <summary>Writes chunk <paramref name="index"/> of an upload; chunks may arrive in any order and again after a break.</summary>
    [Alias("WriteChunk")] Task WriteChunk(long totalLength, int index, byte[] data);
    /// <summary>Chunks already received for an unfinished upload, so a broken transfer resumes.</summary>
    [Alias("GetMissingChunks")] Task<List<int>> GetMissingChunks(long totalLength);
    /// <summary>Checks the whole blob against its key and makes it readable.</summary>
    [Alias("Seal")] Task<BlobInfo> Seal(long totalLength);
}

[GenerateSerializer, Alias("regatta.BlobInfo")]
public sealed record BlobInfo(
    [property: Id(0)] string Hash,
    [property: Id(1)] long Length,
    [property: Id(2)] int ChunkSize,
    [property: Id(3)] int ChunkCount);

public static class BlobLimits
{
    /// <summary>1 MiB: far below Orleans' message limit, large enough to keep call overhead small.</summary>
    public const int ChunkSize = 1 << 20;
    /// <summary>Largest blob accepted (a 100 MB model fits with room).</summary>
    public const long MaxBlobBytes = 1L << 30;
    public static int ChunkCount(long length) => (int)((length + ChunkSize - 1) / ChunkSize);
}
