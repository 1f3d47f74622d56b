using System.Security.Cryptography;
using Regatta.Models;
using Regatta.Silo.Production;

namespace Regatta.Tests;

/// <summary>
/// The production blob store on a real PostgreSQL. Two store instances on one database stand for two silos: what
/// one writes the other reads, and an upload broken on one continues on the other.
/// </summary>
[Collection(Production.Name)]
public sealed class PostgresBlobStoreTests(PostgresServer postgres) : TwoSiloDatabase(postgres)
{
    [Fact]
    public async Task Whole_blob_written_on_one_silo_is_read_by_another_whole_and_by_chunk()
    {
        var bytes = RandomBytes(BlobLimits.ChunkSize * 2 + 12345);
        var a = new PostgresBlobStore(SiloA);
        var b = new PostgresBlobStore(SiloB);

        var hash = await a.PutAsync(bytes);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), hash);
        Assert.Equal(new BlobInfo(hash, bytes.Length, BlobLimits.ChunkSize, 3), await b.InfoAsync(hash));
        Assert.Equal(bytes, await b.ReadAllAsync(hash));
        Assert.Equal(bytes[(2 * BlobLimits.ChunkSize)..], await b.ReadChunkAsync(hash, 2));
        Assert.Equal(hash, await b.PutAsync(bytes)); // storing it again changes nothing
        Assert.Empty(await b.MissingChunksAsync(hash, bytes.Length));
        Assert.Equal("bad_chunk", (await Assert.ThrowsAsync<RegattaException>(() => b.ReadChunkAsync(hash, 3))).Code);
    }

    [Fact]
    public async Task Chunked_upload_broken_on_one_silo_resumes_on_another_and_is_readable_only_once_sealed()
    {
        var bytes = RandomBytes(BlobLimits.ChunkSize * 2 + 7);
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var a = new PostgresBlobStore(SiloA);
        var b = new PostgresBlobStore(SiloB);

        await a.WriteChunkAsync(hash, bytes.Length, 2, Chunk(bytes, 2));
        await a.WriteChunkAsync(hash, bytes.Length, 0, Chunk(bytes, 0));
        Assert.Null(await b.InfoAsync(hash));
        Assert.Equal([1], await b.MissingChunksAsync(hash, bytes.Length));
        Assert.Equal("incomplete_blob", (await Assert.ThrowsAsync<RegattaException>(() => b.SealAsync(hash, bytes.Length))).Code);
        Assert.Equal("unknown_blob", (await Assert.ThrowsAsync<RegattaException>(() => b.ReadAllAsync(hash))).Code);

        await b.WriteChunkAsync(hash, bytes.Length, 1, Chunk(bytes, 1));
        await b.WriteChunkAsync(hash, bytes.Length, 1, Chunk(bytes, 1)); // a retried chunk is harmless
        var info = await b.SealAsync(hash, bytes.Length);

        Assert.Equal(bytes.Length, info.Length);
        Assert.Equal(bytes, await a.ReadAllAsync(hash));
        Assert.Equal(info, await a.SealAsync(hash, bytes.Length)); // sealing twice is harmless
    }

    [Fact]
    public async Task Bytes_that_do_not_match_their_key_are_discarded_at_seal_and_bad_chunks_store_nothing()
    {
        var store = new PostgresBlobStore(SiloA);
        var bytes = RandomBytes(1000);
        var wrongKey = Convert.ToHexStringLower(SHA256.HashData(RandomBytes(10)));

        await store.WriteChunkAsync(wrongKey, bytes.Length, 0, bytes);
        var mismatch = await Assert.ThrowsAsync<RegattaException>(() => store.SealAsync(wrongKey, bytes.Length));

        Assert.Equal("hash_mismatch", mismatch.Code);
        Assert.Null(await store.InfoAsync(wrongKey));
        Assert.Equal([0], await store.MissingChunksAsync(wrongKey, bytes.Length)); // the upload starts over

        var key = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.Equal("bad_chunk", (await Assert.ThrowsAsync<RegattaException>(() => store.WriteChunkAsync(key, bytes.Length, 0, bytes[..999]))).Code);
        Assert.Equal("bad_chunk", (await Assert.ThrowsAsync<RegattaException>(() => store.WriteChunkAsync(key, bytes.Length, 1, bytes))).Code);
        Assert.Equal("blob_too_large", (await Assert.ThrowsAsync<RegattaException>(() => store.WriteChunkAsync(key, 0, 0, []))).Code);
        Assert.Equal("bad_hash", (await Assert.ThrowsAsync<RegattaException>(() => store.WriteChunkAsync("ABC", bytes.Length, 0, bytes))).Code);
        Assert.Equal("bad_hash", (await Assert.ThrowsAsync<RegattaException>(() => store.InfoAsync(key.ToUpperInvariant()))).Code);
        Assert.Equal([0], await store.MissingChunksAsync(key, bytes.Length));
    }

    [Fact]
    public async Task An_upload_with_another_total_length_starts_over()
    {
        var store = new PostgresBlobStore(SiloA);
        var bytes = RandomBytes(BlobLimits.ChunkSize + 10);
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await store.WriteChunkAsync(hash, BlobLimits.ChunkSize + 99, 0, RandomBytes(BlobLimits.ChunkSize));

        await store.WriteChunkAsync(hash, bytes.Length, 1, Chunk(bytes, 1));

        Assert.Equal([0], await store.MissingChunksAsync(hash, bytes.Length));
        await store.WriteChunkAsync(hash, bytes.Length, 0, Chunk(bytes, 0));
        await store.SealAsync(hash, bytes.Length);
        Assert.Equal(bytes, await store.ReadAllAsync(hash));
    }

    private static byte[] Chunk(byte[] bytes, int index)
    {
        var offset = index * BlobLimits.ChunkSize;
        return bytes[offset..Math.Min(bytes.Length, offset + BlobLimits.ChunkSize)];
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }
}
