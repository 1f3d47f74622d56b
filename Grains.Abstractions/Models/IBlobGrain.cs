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
    /// <summary>
    /// A short-lived bearer ticket for this blob on the silos' HTTP data plane (GET and PUT /blobs/{hash}), and the base
    /// URL the cluster advertises for it (null when none is known: use the chunk calls above). An agent reaches this
    /// only for a blob its own assignments name (the silo's gate checks); the ticket carries that right to HTTP for this one hash.
    /// </summary>
    [Alias("GrantTicket")] Task<BlobTicket> GrantTicket();
    /// <summary>Whether <paramref name="ticketHash"/> (SHA-256 of a ticket) was granted for this blob and has not expired.</summary>
    [Alias("CheckTicket")] Task<bool> CheckTicket(byte[] ticketHash);
}

[GenerateSerializer, Alias("regatta.BlobInfo")]
public sealed record BlobInfo(
    [property: Id(0)] string Hash,
    [property: Id(1)] long Length,
    [property: Id(2)] int ChunkSize,
    [property: Id(3)] int ChunkCount);

/// <summary>A bearer ticket for one blob's HTTP data plane; <see cref="BaseUrl"/> is e.g. http://10.0.0.5:5080 (no trailing slash).</summary>
[GenerateSerializer, Alias("regatta.BlobTicket")]
public sealed record BlobTicket(
    [property: Id(0)] string Ticket,
    [property: Id(1)] string? BaseUrl,
    [property: Id(2)] DateTimeOffset Expires);

public static class BlobLimits
{
    /// <summary>1 MiB: far below Orleans' message limit, large enough to keep call overhead small.</summary>
    public const int ChunkSize = 1 << 20;
    /// <summary>Largest blob accepted (a 100 MB model fits with room).</summary>
    public const long MaxBlobBytes = 1L << 30;
    /// <summary>How long a <see cref="BlobTicket"/> is honoured: long enough for a slow link to move the largest blob.</summary>
    public static readonly TimeSpan TicketLifetime = TimeSpan.FromMinutes(15);
    public static int ChunkCount(long length) => (int)((length + ChunkSize - 1) / ChunkSize);
}
