using System.Security.Cryptography;
using Regatta.Grains.Models;
using Regatta.Models;
using Regatta.Silo.Production;

namespace Regatta.Tests;

/// <summary>
/// The HTTP data plane's streaming calls (<see cref="IBlobStore.WriteAsync"/>, <see cref="IBlobStore.CopyToAsync"/>) on
/// the production store, a real PostgreSQL: a body broken off on one silo resumes on another at the last whole chunk,
/// nothing is readable before the hash check, a mismatch is discarded, and ranges read back exactly.
/// </summary>
[Collection(Production.Name)]
public sealed class PostgresBlobStreamTests(PostgresServer postgres) : TwoSiloDatabase(postgres)
{
    private const int Chunk = BlobLimits.ChunkSize;

    [Fact]
    public async Task A_streamed_upload_broken_on_one_silo_resumes_on_another_and_reads_back_by_range()
    {
        var bytes = new byte[3 * Chunk + 500];
        new Random(3).NextBytes(bytes);
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        IBlobStore a = new PostgresBlobStore(SiloA);
        IBlobStore b = new PostgresBlobStore(SiloB);

        // 2 whole chunks and a torn piece of the third arrive, then the body ends.
        Assert.Null(await a.WriteAsync(hash, bytes.Length, 0, new MemoryStream(bytes, 0, 2 * Chunk + 100), CancellationToken.None));
        Assert.Null(await b.InfoAsync(hash));
        Assert.Equal(2L * Chunk, await b.ResumeOffsetAsync(hash, bytes.Length));
        Assert.Equal("bad_offset", (await Assert.ThrowsAsync<RegattaException>(() =>
            b.WriteAsync(hash, bytes.Length, 3L * Chunk, new MemoryStream(bytes, 3 * Chunk, 500), CancellationToken.None))).Code);

        var info = await b.WriteAsync(hash, bytes.Length, 2L * Chunk, new MemoryStream(bytes, 2 * Chunk, bytes.Length - 2 * Chunk), CancellationToken.None);

        Assert.Equal(new BlobInfo(hash, bytes.Length, Chunk, 4), info);
        var range = new MemoryStream();
        await a.CopyToAsync(hash, Chunk - 10, Chunk + 20, range, CancellationToken.None);
        Assert.Equal(bytes[(Chunk - 10)..(2 * Chunk + 10)], range.ToArray());
    }

    [Fact]
    public async Task A_streamed_upload_that_does_not_hash_to_its_key_is_discarded()
    {
        var bytes = new byte[Chunk + 3];
        new Random(4).NextBytes(bytes);
        var wrongKey = new string('b', 64);
        IBlobStore store = new PostgresBlobStore(SiloA);

        var refused = await Assert.ThrowsAsync<RegattaException>(() =>
            store.WriteAsync(wrongKey, bytes.Length, 0, new MemoryStream(bytes), CancellationToken.None));

        Assert.Equal("hash_mismatch", refused.Code);
        Assert.Null(await store.InfoAsync(wrongKey));
        Assert.Equal(0, await store.ResumeOffsetAsync(wrongKey, bytes.Length));
    }
}
