using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Regatta.Models;
using Regatta.WorkerAgent;
using Regatta.Workers;

namespace Regatta.Api.Tests;

/// <summary>
/// /blobs/{hash}, the data plane on the real silo's Kestrel pipeline (in-memory test server), with the disk store:
/// uploads whole and resumed, range downloads, what is refused (and that it leaves nothing readable), who may do what,
/// and the agent's transfer going over it.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class BlobEndpointTests(ApiSilo silo)
{
    private const int Chunk = BlobLimits.ChunkSize;
    private readonly HttpClient _admin = silo.Admin();

    private static (byte[] Bytes, string Hash) Blob(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return (bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private static ByteArrayContent Body(byte[] bytes, int offset = 0, int? count = null, long? total = null)
    {
        var content = new ByteArrayContent(bytes, offset, count ?? bytes.Length - offset);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (total is { } t) content.Headers.ContentRange = new ContentRangeHeaderValue(offset, offset + (count ?? bytes.Length - offset) - 1, t);
        return content;
    }

    [Fact]
    public async Task A_blob_uploads_whole_and_downloads_whole_or_by_range()
    {
        var (bytes, hash) = Blob(2 * Chunk + 12345, 1);

        var created = await _admin.PutAsync($"/blobs/{hash}", Body(bytes)).Expect(HttpStatusCode.Created);
        Assert.Equal((hash, (long)bytes.Length), (created.Str("hash"), created.Long("length")));
        Assert.Equal(bytes.Length, (await silo.Grains.GetGrain<IBlobGrain>(hash).GetInfo())!.Length);

        using var whole = await _admin.GetAsync($"/blobs/{hash}");
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(bytes, await whole.Content.ReadAsByteArrayAsync());
        Assert.Equal($"\"{hash}\"", whole.Headers.ETag!.Tag);
        Assert.Contains("bytes", whole.Headers.AcceptRanges);

        Assert.Equal(bytes[Chunk..(Chunk + 100)], await Range($"bytes={Chunk}-{Chunk + 99}", $"bytes {Chunk}-{Chunk + 99}/{bytes.Length}"));
        Assert.Equal(bytes[^10..], await Range("bytes=-10", $"bytes {bytes.Length - 10}-{bytes.Length - 1}/{bytes.Length}"));
        Assert.Equal(bytes[5..], await Range("bytes=5-", $"bytes 5-{bytes.Length - 1}/{bytes.Length}"));

        using var head = await _admin.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/blobs/{hash}"));
        Assert.Equal(bytes.Length, head.Content.Headers.ContentLength);
        // Stored already: the same upload again is answered without storing anything new.
        await _admin.PutAsync($"/blobs/{hash}", Body(bytes)).Expect(HttpStatusCode.OK);

        async Task<byte[]> Range(string range, string contentRange)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/blobs/{hash}");
            request.Headers.TryAddWithoutValidation("Range", range);
            using var response = await _admin.SendAsync(request);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal(contentRange, response.Content.Headers.ContentRange!.ToString());
            return await response.Content.ReadAsByteArrayAsync();
        }
    }

    [Fact]
    public async Task A_broken_upload_stays_invisible_and_resumes_at_the_last_whole_chunk()
    {
        var (bytes, hash) = Blob(3 * Chunk + 777, 2);

        // The first attempt carries 2 chunks and a torn piece of the third.
        var part = await _admin.PutAsync($"/blobs/{hash}", Body(bytes, 0, 2 * Chunk + 500, bytes.Length)).Expect(HttpStatusCode.Accepted);
        Assert.Equal((2L * Chunk, false), (part.Long("offset"), part.GetProperty("sealed").GetBoolean()));
        await _admin.GetAsync($"/blobs/{hash}").Problem(404, "hash");
        Assert.Null(await silo.Grains.GetGrain<IBlobGrain>(hash).GetInfo());
        var status = await _admin.GetAsync($"/blobs/{hash}/upload?length={bytes.Length}").Expect();
        Assert.Equal(2L * Chunk, status.Long("offset"));

        // Skipping ahead of what is held, or off a chunk boundary, is refused.
        await _admin.PutAsync($"/blobs/{hash}", Body(bytes, 3 * Chunk, null, bytes.Length)).Problem(409, "Content-Range");
        await _admin.PutAsync($"/blobs/{hash}", Body(bytes, Chunk + 1, null, bytes.Length)).Problem(409, "Content-Range");

        await _admin.PutAsync($"/blobs/{hash}", Body(bytes, 2 * Chunk, null, bytes.Length)).Expect(HttpStatusCode.Created);
        using var whole = await _admin.GetAsync($"/blobs/{hash}");
        Assert.Equal(bytes, await whole.Content.ReadAsByteArrayAsync());
        Assert.True((await _admin.GetAsync($"/blobs/{hash}/upload?length={bytes.Length}").Expect()).GetProperty("sealed").GetBoolean());
    }

    [Fact]
    public async Task Bytes_that_do_not_hash_to_their_key_are_refused_and_discarded()
    {
        var (bytes, _) = Blob(Chunk + 10, 3);
        var (_, otherHash) = Blob(Chunk + 10, 4);

        Assert.Contains("upload discarded", await _admin.PutAsync($"/blobs/{otherHash}", Body(bytes)).Problem(400, "body"));

        await _admin.GetAsync($"/blobs/{otherHash}").Problem(404, "hash");
        Assert.Equal(0, (await _admin.GetAsync($"/blobs/{otherHash}/upload?length={bytes.Length}").Expect()).Long("offset"));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(silo.DataDir, "blobs", "partial"), otherHash + "*"));
    }

    private static string UploadId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public async Task A_staged_upload_is_readable_only_once_sealed_under_the_hash_the_silo_computed()
    {
        var (bytes, hash) = Blob(3 * Chunk + 321, 11);
        var (_, otherHash) = Blob(100, 12);

        // The silo tells what the bytes hash to; nothing is readable yet.
        var wrongId = UploadId();
        var staged = await _admin.PutAsync($"/blobs/uploads/{wrongId}", Body(bytes)).Expect(HttpStatusCode.Accepted);
        Assert.Equal((wrongId, hash, (long)bytes.Length), (staged.Str("id"), staged.Str("hash"), staged.Long("length")));
        await _admin.GetAsync($"/blobs/{hash}").Problem(404, "hash");

        // A seal naming another key is refused and discards the upload: neither key shows anything.
        Assert.Contains("upload discarded", await _admin.PostAsync($"/blobs/uploads/{wrongId}/seal?hash={otherHash}", null).Problem(400, "body"));
        await _admin.PostAsync($"/blobs/uploads/{wrongId}/seal?hash={hash}", null).Problem(404, "id");
        await _admin.GetAsync($"/blobs/{hash}").Problem(404, "hash");
        await _admin.GetAsync($"/blobs/{otherHash}").Problem(404, "hash");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(silo.DataDir, "blobs", "partial"), wrongId + "*"));

        var id = UploadId();
        await _admin.PutAsync($"/blobs/uploads/{id}", Body(bytes)).Expect(HttpStatusCode.Accepted);
        await _admin.PutAsync($"/blobs/uploads/{id}", Body(bytes)).Problem(409, "id"); // one body per upload id
        var created = await _admin.PostAsync($"/blobs/uploads/{id}/seal?hash={hash}", null).Expect(HttpStatusCode.Created);
        Assert.Equal((hash, (long)bytes.Length), (created.Str("hash"), created.Long("length")));
        using (var whole = await _admin.GetAsync($"/blobs/{hash}"))
            Assert.Equal(bytes, await whole.Content.ReadAsByteArrayAsync());

        // The same bytes staged again: sealing finds them stored and drops the copy.
        var again = UploadId();
        await _admin.PutAsync($"/blobs/uploads/{again}", Body(bytes)).Expect(HttpStatusCode.Accepted);
        await _admin.PostAsync($"/blobs/uploads/{again}/seal?hash={hash}", null).Expect();
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(silo.DataDir, "blobs", "partial"), again + "*"));
    }

    [Fact]
    public async Task A_staged_body_cut_short_leaves_nothing_and_bad_staging_requests_name_the_field()
    {
        var (bytes, hash) = Blob(2 * Chunk + 5, 13);
        var id = UploadId();
        var cut = Body(bytes, 0, 2 * Chunk);
        cut.Headers.ContentLength = bytes.Length; // says more than it carries

        await _admin.PutAsync($"/blobs/uploads/{id}", cut).Problem(400, "body");

        await _admin.PostAsync($"/blobs/uploads/{id}/seal?hash={hash}", null).Problem(404, "id");
        await _admin.GetAsync($"/blobs/{hash}").Problem(404, "hash");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(silo.DataDir, "blobs", "partial"), id + "*"));

        await _admin.PutAsync("/blobs/uploads/not-random", Body(bytes)).Problem(400, "id");
        await _admin.PutAsync($"/blobs/uploads/{id}", Body(bytes, 0, null, bytes.Length)).Problem(400, "Content-Range");
        await _admin.PutAsync($"/blobs/uploads/{id}", Body([])).Problem(413, "Content-Length");
        await _admin.PostAsync($"/blobs/uploads/{id}/seal", null).Problem(400, "hash");
        await _admin.PostAsync($"/blobs/uploads/{id}/seal?hash=XYZ", null).Problem(400, "hash");
        using var anonymous = silo.Anonymous();
        await anonymous.PutAsync($"/blobs/uploads/{id}", Body(bytes)).Problem(401, "Authorization");
        await anonymous.PostAsync($"/blobs/uploads/{id}/seal?hash={hash}", null).Problem(401, "Authorization");
        // A ticket is for one upload id, as for one hash.
        using var agent = silo.WithBearer((await silo.Grains.GetGrain<IBlobGrain>(UploadId()).GrantTicket()).Ticket);
        await agent.PutAsync($"/blobs/uploads/{id}", Body(bytes)).Problem(401, "Authorization");
    }

    [Fact]
    public async Task Bad_keys_lengths_and_ranges_are_refused_with_the_field_named()
    {
        var (bytes, hash) = Blob(1000, 5);
        await _admin.PutAsync($"/blobs/{hash}", Body(bytes)).Expect(HttpStatusCode.Created);
        var (_, unknown) = Blob(10, 6);

        await _admin.GetAsync($"/blobs/{unknown}").Problem(404, "hash");
        await _admin.GetAsync($"/blobs/{hash.ToUpperInvariant()}").Problem(400, "hash");
        await _admin.PutAsync("/blobs/not-a-hash", Body(bytes)).Problem(400, "hash");

        var tooLarge = Body(bytes, 0, null, BlobLimits.MaxBlobBytes + 1);
        Assert.Contains($"{BlobLimits.MaxBlobBytes}", await _admin.PutAsync($"/blobs/{unknown}", tooLarge).Problem(413, "Content-Length"));
        await _admin.GetAsync($"/blobs/{unknown}/upload?length={BlobLimits.MaxBlobBytes + 1}").Problem(413, "length");
        await _admin.GetAsync($"/blobs/{unknown}/upload").Problem(400, "length");
        await _admin.PutAsync($"/blobs/{unknown}", Body([])).Problem(413, "Content-Length");
        var mismatched = Body(bytes);
        mismatched.Headers.TryAddWithoutValidation("Content-Range", "bytes 0-9/1000"); // says 10 bytes, carries 1000
        await _admin.PutAsync($"/blobs/{unknown}", mismatched).Problem(400, "Content-Range");

        await RangeProblem("bytes=2000-", 416);
        await RangeProblem("bytes=0-1,5-6", 400);
        await RangeProblem("items=0-5", 400);
        await RangeProblem("bytes=9-3", 400);
        Assert.Null(await silo.Grains.GetGrain<IBlobGrain>(unknown).GetInfo());

        async Task RangeProblem(string range, int status)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/blobs/{hash}");
            request.Headers.TryAddWithoutValidation("Range", range);
            await _admin.SendAsync(request).Problem(status, "Range");
        }
    }

    [Fact]
    public async Task Only_the_admin_a_worker_with_its_token_or_a_ticket_for_that_blob_may_move_it()
    {
        var (bytes, hash) = Blob(5000, 7);
        var (other, otherHash) = Blob(5000, 8);
        using var anonymous = silo.Anonymous();

        await anonymous.PutAsync($"/blobs/{hash}", Body(bytes)).Problem(401, "Authorization");
        await anonymous.GetAsync($"/blobs/{hash}/upload?length=5000").Problem(401, "Authorization");
        using (var forged = silo.WithBearer("not-a-ticket-of-anything"))
            await forged.PutAsync($"/blobs/{hash}", Body(bytes)).Problem(401, "Authorization");

        // A connected agent's ticket is good for its own blob only.
        var ticket = await silo.Grains.GetGrain<IBlobGrain>(hash).GrantTicket();
        Assert.True(ticket.Expires > DateTimeOffset.UtcNow);
        using var agent = silo.WithBearer(ticket.Ticket);
        await agent.PutAsync($"/blobs/{otherHash}", Body(other)).Problem(401, "Authorization");
        await agent.PutAsync($"/blobs/{hash}", Body(bytes)).Expect(HttpStatusCode.Created);
        using (var downloaded = await agent.GetAsync($"/blobs/{hash}"))
            Assert.Equal(bytes, await downloaded.Content.ReadAsByteArrayAsync());
        await anonymous.GetAsync($"/blobs/{hash}").Problem(401, "Authorization");

        // A worker uses its credential (the REST worker token), naming itself, and reaches only what its own
        // assignments name: this one has none, so it can neither upload nor read another run's weights.
        var id = Http.NewId("blobw");
        var token = await WorkerApiTests.Register(anonymous, id);
        using var worker = silo.WithBearer(token);
        await worker.PutAsync($"/blobs/{otherHash}", Body(other)).Problem(401, "Authorization"); // no X-Regatta-Worker
        worker.DefaultRequestHeaders.Add("X-Regatta-Worker", "someone-else");
        await worker.PutAsync($"/blobs/{otherHash}", Body(other)).Problem(401, "Authorization");
        worker.DefaultRequestHeaders.Remove("X-Regatta-Worker");
        worker.DefaultRequestHeaders.Add("X-Regatta-Worker", id);
        await worker.PutAsync($"/blobs/{otherHash}", Body(other)).Problem(403, "Authorization");
        await worker.GetAsync($"/blobs/{hash}").Problem(403, "Authorization");
        await silo.Grains.GetGrain<IWorkerOperatorGrain>(id).Approve(); // approved, still no assignment names them
        await worker.GetAsync($"/blobs/{hash}").Problem(403, "Authorization");
        Assert.Null(await silo.Grains.GetGrain<IBlobGrain>(otherHash).GetInfo());
    }

    [Fact]
    public async Task The_agent_moves_weights_over_http_and_a_broken_download_resumes_there()
    {
        var (bytes, hash) = Blob(6 * Chunk + 99, 9);
        var options = new ModelTransferOptions { BlobUrl = silo.Server.BaseAddress.ToString(), Handler = silo.Server.CreateHandler() };
        var cache = Path.Combine(silo.DataDir, "agent-cache-" + Guid.NewGuid().ToString("N"));
        var uploader = new ModelTransfer(silo.Grains, cache + "-up", NullLogger.Instance, options);

        Assert.Equal(hash, await uploader.UploadAsync(bytes, null, CancellationToken.None));
        Assert.Equal((1, (long)bytes.Length), (uploader.HttpTransfers, uploader.BytesUploaded));
        Assert.Equal(bytes.Length, (await silo.Grains.GetGrain<IBlobGrain>(hash).GetInfo())!.Length);

        var downloader = new ModelTransfer(silo.Grains, cache + "-down", NullLogger.Instance, options);
        using var breakOff = new CancellationTokenSource();
        var progress = new SynchronousProgress(f => { if (f > 0.4) breakOff.Cancel(); });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => downloader.FetchAsync(hash, progress, breakOff.Token));
        var before = downloader.BytesDownloaded;
        Assert.InRange(before, bytes.Length / 3, bytes.Length - 1);

        Assert.Equal(bytes, await downloader.FetchAsync(hash, null, CancellationToken.None));
        Assert.Equal(bytes.Length, downloader.BytesDownloaded); // the resume fetched exactly what was missing
        Assert.Equal(1, downloader.HttpTransfers);
    }

    [Fact]
    public async Task A_byte_changed_on_the_way_is_caught_by_the_two_hashes_and_the_agent_uploads_again_under_the_key()
    {
        var (bytes, hash) = Blob(4 * Chunk + 17, 14);
        var corrupting = new CorruptStagedBodies(silo.Server.CreateHandler());
        var options = new ModelTransferOptions { BlobUrl = silo.Server.BaseAddress.ToString(), Handler = corrupting };
        var uploader = new ModelTransfer(silo.Grains, Path.Combine(silo.DataDir, "agent-corrupt-" + Guid.NewGuid().ToString("N")), NullLogger.Instance, options);

        Assert.Equal(hash, await uploader.UploadAsync(bytes, null, CancellationToken.None));

        Assert.Equal(1, corrupting.Corrupted);
        using (var stored = await _admin.GetAsync($"/blobs/{hash}"))
            Assert.Equal(bytes, await stored.Content.ReadAsByteArrayAsync());
        var damaged = bytes.ToArray();
        damaged[Chunk] ^= 0xff;
        await _admin.GetAsync($"/blobs/{Convert.ToHexStringLower(SHA256.HashData(damaged))}").Problem(404, "hash");
    }

    [Fact]
    public async Task A_download_changed_on_the_way_is_refused_and_leaves_nothing_in_the_cache()
    {
        // Larger than LargeArrays' huge-page threshold, so the array the agent receives into is the advised kind.
        var (bytes, hash) = Blob(9 * Chunk + 3, 17);
        await _admin.PutAsync($"/blobs/{hash}", Body(bytes)).Expect(HttpStatusCode.Created);
        var corrupting = new CorruptDownloads(silo.Server.CreateHandler());
        var options = new ModelTransferOptions { BlobUrl = silo.Server.BaseAddress.ToString(), Handler = corrupting };
        var downloader = new ModelTransfer(silo.Grains, Path.Combine(silo.DataDir, "agent-baddown-" + Guid.NewGuid().ToString("N")), NullLogger.Instance, options);

        await Assert.ThrowsAsync<InvalidDataException>(() => downloader.FetchAsync(hash, null, CancellationToken.None));

        Assert.Equal(1, corrupting.Corrupted);
        Assert.Empty(Directory.EnumerateFiles(downloader.CacheDir));
        corrupting.Enabled = false;
        Assert.Equal(bytes, await downloader.FetchAsync(hash, null, CancellationToken.None));
        Assert.True(File.Exists(downloader.CachedPath(hash)));
    }

    /// <summary>Flips one byte of every blob download's body while <see cref="Enabled"/>.</summary>
    private sealed class CorruptDownloads(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public bool Enabled { get; set; } = true;
        public int Corrupted { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var response = await base.SendAsync(request, ct);
            if (!Enabled || request.Method != HttpMethod.Get || !response.IsSuccessStatusCode || request.RequestUri!.AbsolutePath.EndsWith("/upload"))
                return response;
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            body[body.Length / 2] ^= 0xff;
            Corrupted++;
            var content = new ByteArrayContent(body);
            foreach (var header in response.Content.Headers) content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            response.Content = content;
            return response;
        }
    }

    [Fact]
    public async Task Against_a_store_that_cannot_stage_the_agent_uploads_under_the_key_over_http()
    {
        var refusing = new RefuseStaging(silo.Server.CreateHandler());
        var options = new ModelTransferOptions { BlobUrl = silo.Server.BaseAddress.ToString(), Handler = refusing };
        var uploader = new ModelTransfer(silo.Grains, Path.Combine(silo.DataDir, "agent-nostage-" + Guid.NewGuid().ToString("N")), NullLogger.Instance, options);
        var (first, firstHash) = Blob(Chunk + 1, 15);
        var (second, secondHash) = Blob(Chunk + 2, 16);

        Assert.Equal(firstHash, await uploader.UploadAsync(first, null, CancellationToken.None));
        Assert.Equal(secondHash, await uploader.UploadAsync(second, null, CancellationToken.None));

        Assert.Equal(2, uploader.HttpTransfers); // keyed HTTP, not grain chunks
        Assert.Equal(1, refusing.Refused); // asked once, then remembered
        using var stored = await _admin.GetAsync($"/blobs/{secondHash}");
        Assert.Equal(second, await stored.Content.ReadAsByteArrayAsync());
    }

    /// <summary>Answers staged uploads as a store without staging does (the PostgreSQL store): 501.</summary>
    private sealed class RefuseStaging(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public int Refused { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (!request.RequestUri!.AbsolutePath.Contains("/blobs/uploads/")) return base.SendAsync(request, ct);
            Refused++;
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotImplemented) { Content = new StringContent("{}") });
        }
    }

    /// <summary>Flips one byte of every staged upload's body, as a faulty link or proxy might.</summary>
    private sealed class CorruptStagedBodies(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public int Corrupted { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (request.Method == HttpMethod.Put && request.RequestUri!.AbsolutePath.Contains("/blobs/uploads/") && request.Content is { } content)
            {
                var body = await content.ReadAsByteArrayAsync(ct);
                body[Chunk] ^= 0xff;
                Corrupted++;
                request.Content = Body(body);
            }
            return await base.SendAsync(request, ct);
        }
    }

    [Fact]
    public async Task The_agent_falls_back_to_grain_chunks_when_the_endpoint_cannot_be_reached()
    {
        var (bytes, hash) = Blob(2 * Chunk + 5, 10);
        var options = new ModelTransferOptions { BlobUrl = "http://127.0.0.1:9" }; // discard port: nothing listens
        var transfer = new ModelTransfer(silo.Grains, Path.Combine(silo.DataDir, "agent-fallback-" + Guid.NewGuid().ToString("N")), NullLogger.Instance, options);

        Assert.Equal(hash, await transfer.UploadAsync(bytes, null, CancellationToken.None));

        Assert.Equal(0, transfer.HttpTransfers);
        using var stored = await _admin.GetAsync($"/blobs/{hash}");
        Assert.Equal(bytes, await stored.Content.ReadAsByteArrayAsync());
    }

    private sealed class SynchronousProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}

/// <summary>Which URL a silo hands out with blob tickets, from the addresses its Kestrel listens on.</summary>
public sealed class BlobUrlTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5080", "10.0.0.5", "http://127.0.0.1:5080")] // a specific address is dialled as is
    [InlineData("http://0.0.0.0:5080", "10.0.0.5", "http://10.0.0.5:5080")] // a wildcard: the silo's advertised IP
    [InlineData("http://[::]:5081", "10.0.0.5", "http://10.0.0.5:5081")]
    [InlineData("http://+:5082", "fd00::5", "http://[fd00::5]:5082")]
    [InlineData("https://*:443", "10.0.0.5", "https://10.0.0.5:443")]
    [InlineData("http://0.0.0.0:5080", null, null)] // nothing to dial: the silo warns and agents use grain calls
    public void A_wildcard_binding_advertises_the_silos_own_address(string listening, string? advertisedIp, string? expected) =>
        Assert.Equal(expected, Regatta.Silo.Blobs.BlobEndpoints.ChooseBaseUrl([listening], advertisedIp is null ? null : System.Net.IPAddress.Parse(advertisedIp)));

    [Fact]
    public void A_specific_address_wins_over_a_wildcard_and_none_gives_none()
    {
        Assert.Equal("http://10.1.2.3:6000", Regatta.Silo.Blobs.BlobEndpoints.ChooseBaseUrl(["http://0.0.0.0:5080", "http://10.1.2.3:6000"], System.Net.IPAddress.Loopback));
        Assert.Null(Regatta.Silo.Blobs.BlobEndpoints.ChooseBaseUrl([], System.Net.IPAddress.Loopback));
    }
}
