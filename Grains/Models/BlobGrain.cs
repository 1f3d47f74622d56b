using Regatta.Models;

namespace Regatta.Grains.Models;

/// <summary>Chunked access to one content-addressed blob; one activation per hash keeps its upload sequential.</summary>
public sealed class BlobGrain(IBlobStore store) : Grain, IBlobGrain
{
    private string Hash => this.GetPrimaryKeyString();

    public Task<BlobInfo?> GetInfo() => BlobStore.IsValidHash(Hash) ? store.InfoAsync(Hash) : Task.FromResult<BlobInfo?>(null);

    public Task<byte[]> ReadChunk(int index) => store.ReadChunkAsync(Hash, index);

    public Task WriteChunk(long totalLength, int index, byte[] data) => store.WriteChunkAsync(Hash, totalLength, index, data);

    public Task<List<int>> GetMissingChunks(long totalLength) => store.MissingChunksAsync(Hash, totalLength);

    public Task<BlobInfo> Seal(long totalLength) => store.SealAsync(Hash, totalLength);
}
