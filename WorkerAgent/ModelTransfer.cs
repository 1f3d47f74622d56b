using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Regatta.Models;

namespace Regatta.WorkerAgent;

/// <summary>How the agent moves blobs: <see cref="BlobUrl"/> overrides the URL the cluster advertises.</summary>
public sealed record ModelTransferOptions
{
    /// <summary>Base URL of the blob data plane (e.g. http://10.0.0.5:5080); null: the one the cluster advertises with each ticket.</summary>
    public string? BlobUrl { get; init; }
    /// <summary>False: only grain calls (1 MiB chunks), never HTTP.</summary>
    public bool UseHttp { get; init; } = true;
    /// <summary>The HTTP stack to use (tests hand in an in-memory server's); null: a shared socket handler.</summary>
    public HttpMessageHandler? Handler { get; init; }

    /// <summary>From the agent's --blob-url: null or empty follows the cluster, "grain" turns HTTP off, else an absolute http(s) URL.</summary>
    public static ModelTransferOptions From(string? blobUrl) => blobUrl switch
    {
        null or "" => new(),
        "grain" => new() { UseHttp = false },
        _ when Uri.TryCreate(blobUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" => new() { BlobUrl = blobUrl.TrimEnd('/') },
        _ => throw new ArgumentException($"--blob-url must be an absolute http(s) URL or 'grain', not '{blobUrl}'"),
    };
}

/// <summary>
/// Moves content-addressed blobs between the agent and the cluster. Preferred path: HTTP to the silos' blob endpoint
/// (GET/PUT /blobs/{hash}, with a ticket the blob's grain grants over Orleans), measured at several times the grain path;
/// fallback: 1 MiB chunks through grain calls (no Orleans message comes near its limit), used when no URL is known or the
/// endpoint cannot be reached. Downloads land in a local cache keyed by hash and are skipped when the hash is already
/// there; a broken download resumes from the bytes already on disk; uploads send only what the silo lacks.
/// </summary>
public sealed class ModelTransfer(IGrainFactory grains, string cacheDir, ILogger logger, ModelTransferOptions? options = null)
{
    private const int Block = 1 << 20;
    // One connection pool for the process: agents move a blob now and then, and sockets should be reused between them.
    private static readonly HttpClient SharedHttp = new(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2) })
    {
        Timeout = Timeout.InfiniteTimeSpan, // a 1 GB blob on a slow link takes long; callers cancel through their token
    };

    private readonly ModelTransferOptions _options = options ?? new ModelTransferOptions();
    private readonly HttpClient _http = options?.Handler is { } handler ? new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan } : SharedHttp;
    private DateTimeOffset _httpRetryAfter = DateTimeOffset.MinValue;
    private bool _staging = true;

    public int Downloads { get; private set; }
    public long BytesDownloaded { get; private set; }
    public long BytesUploaded { get; private set; }
    /// <summary>Transfers that went over HTTP (the rest went through grain calls).</summary>
    public int HttpTransfers { get; private set; }

    public string CacheDir { get; } = Directory.CreateDirectory(cacheDir).FullName;

    public string CachedPath(string hash) => Path.Combine(CacheDir, hash + ".blob");

    /// <summary>Returns the blob's bytes, from the cache when its hash is there, else downloaded and checked.</summary>
    public async Task<byte[]> FetchAsync(string hash, IProgress<double>? progress, CancellationToken ct)
    {
        if (!IsHash(hash)) throw new ArgumentException($"not a SHA-256 hex hash: '{hash}'", nameof(hash));
        var cached = CachedPath(hash);
        if (File.Exists(cached))
        {
            var bytes = await File.ReadAllBytesAsync(cached, ct);
            if (Hash(bytes) == hash) return bytes;
            logger.LogWarning("Cached blob {Hash} is corrupt; downloading again", hash);
            File.Delete(cached);
        }
        var blob = grains.GetGrain<IBlobGrain>(hash);
        var watch = Stopwatch.StartNew();
        // HTTP hashes while it receives, so the bytes are checked once, in parallel; the chunk path hashes at the end.
        var (data, actual) = await HttpEndpoint(blob) is { } endpoint
            ? await TryHttp(() => DownloadHttp(endpoint, hash, progress, ct)) ?? await DownloadChunks(blob, hash, progress, ct)
            : await DownloadChunks(blob, hash, progress, ct);
        var partial = cached + ".part";
        if (actual != hash)
        {
            File.Delete(partial);
            throw new InvalidDataException($"downloaded bytes hash to {actual}, not {hash}; discarded");
        }
        File.Move(partial, cached, overwrite: true);
        Downloads++;
        logger.LogInformation("Downloaded {Hash} ({Bytes:N0} bytes) in {Ms} ms", hash[..12], data.Length, watch.ElapsedMilliseconds);
        return data;
    }

    /// <summary>
    /// Uploads bytes and returns their hash once the silo has sealed them. Over HTTP the bytes first go out as a staged
    /// upload while a second core hashes them here: the silo hashes what arrives and seals it only under the key this
    /// agent computed, so both sides check every byte and neither waits for the other's hash. When staging is not
    /// possible, the upload goes under its key (skipping what the silo already has, resuming what it holds), over HTTP
    /// or in grain chunks.
    /// </summary>
    public async Task<string> UploadAsync(byte[] bytes, IProgress<double>? progress, CancellationToken ct)
    {
        if (bytes.Length == 0 || bytes.Length > BlobLimits.MaxBlobBytes)
            throw new ArgumentException($"blob size {bytes.Length} out of range");
        // No cache copy: what an agent uploads (its updates) is what it never downloads, and a 100 MB copy would cost as
        // much disk time as the silo's own store.
        var hashing = Task.Run(() => Hash(bytes), ct);
        try
        {
            if (_staging && await StagingEndpoint() is { } staging &&
                await TryHttp(() => UploadStaged(staging, bytes, hashing, progress, ct)) is { } staged)
                return staged;
        }
        finally
        {
            await hashing.ContinueWith(_ => { }, TaskScheduler.Default); // never leave the hash running past this call
        }
        var hash = await hashing;
        var blob = grains.GetGrain<IBlobGrain>(hash);
        if (await blob.GetInfo() is not null) return hash;
        if (await HttpEndpoint(blob) is not { } endpoint || await TryHttp(() => UploadHttp(endpoint, hash, bytes, progress, ct)) is null)
            await UploadChunks(blob, bytes, progress, ct);
        return hash;
    }

    public static string Hash(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private sealed record Endpoint(string BaseUrl, IBlobGrain Blob)
    {
        public BlobTicket? Ticket { get; set; }
    }

    /// <summary>Where to reach this blob over HTTP, with a fresh ticket; null when HTTP is off, unknown, or recently unreachable.</summary>
    private async Task<Endpoint?> HttpEndpoint(IBlobGrain blob)
    {
        if (!_options.UseHttp || DateTimeOffset.UtcNow < _httpRetryAfter) return null;
        var ticket = await blob.GrantTicket();
        var baseUrl = (_options.BlobUrl ?? ticket.BaseUrl)?.TrimEnd('/');
        return baseUrl is null ? null : new Endpoint(baseUrl, blob) { Ticket = ticket };
    }

    /// <summary>
    /// Runs an HTTP transfer; when it fails, returns null so the caller falls back to grain calls, which are authoritative
    /// (a refusal there is the error the caller sees). An endpoint that cannot be reached or answers 5xx is left alone for
    /// a minute.
    /// </summary>
    private async Task<T?> TryHttp<T>(Func<Task<T>> transfer) where T : class?
    {
        try
        {
            var result = await transfer();
            if (result is not null) HttpTransfers++;
            return result;
        }
        catch (Exception e) when (e is HttpRequestException or InvalidDataException)
        {
            var unreachable = e is HttpRequestException { StatusCode: null or >= HttpStatusCode.InternalServerError };
            logger.LogWarning("Blob endpoint failed ({Error}); falling back {For}", e.Message, unreachable ? "to grain calls for a minute" : "for this blob");
            if (unreachable) _httpRetryAfter = DateTimeOffset.UtcNow.AddMinutes(1);
            return null;
        }
    }

    /// <summary>Sends a request with the endpoint's ticket; on 401 (the granting activation went away) asks for a new ticket once.</summary>
    private async Task<HttpResponseMessage> SendAsync(Endpoint endpoint, Func<HttpRequestMessage> request, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var message = request();
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.Ticket!.Ticket);
            var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct);
            if (response.StatusCode != HttpStatusCode.Unauthorized || attempt > 0) return response;
            response.Dispose();
            endpoint.Ticket = await endpoint.Blob.GrantTicket();
        }
    }

    /// <summary>
    /// One GET (resumed with Range after the bytes in the .part file) into the blob's array. Each block is written to the
    /// .part file as it arrives while a second thread hashes it, so the check against the key overlaps the transfer.
    /// </summary>
    private async Task<Downloaded> DownloadHttp(Endpoint endpoint, string hash, IProgress<double>? progress, CancellationToken ct)
    {
        var partial = CachedPath(hash) + ".part";
        await using var file = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
        var held = file.Length;
        using var response = await SendAsync(endpoint, () =>
        {
            var get = new HttpRequestMessage(HttpMethod.Get, $"{endpoint.BaseUrl}/blobs/{hash}");
            if (held > 0) get.Headers.Range = new RangeHeaderValue(held, null); // resume after the bytes already on disk
            return get;
        }, ct);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            file.SetLength(0); // a partial file at least as long as the blob is not a prefix of it: start over
            throw new HttpRequestException($"resume point {held} refused; starting over", null, HttpStatusCode.ServiceUnavailable);
        }
        await EnsureSuccess(response, "download");
        long offset, length;
        if (response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange is { From: { } from, Length: { } total })
            (offset, length) = (from, total);
        else
            (offset, length) = (0, response.Content.Headers.ContentLength ?? throw new InvalidDataException("the blob endpoint sent no Content-Length"));
        if (length is <= 0 or > BlobLimits.MaxBlobBytes || offset > held)
            throw new InvalidDataException($"the blob endpoint sent an unusable answer (bytes from {offset} of {length}, {held} held)");
        // Every byte is written below (from the .part file or the socket) before anyone sees the array: no zeroing first.
        var data = LargeArrays.AllocateUninitialized((int)length);
        await using var hasher = new BlobHasher();
        if (offset > 0)
        {
            await RandomAccess.ReadAsync(file.SafeFileHandle, data.AsMemory(0, (int)offset), 0, ct);
            hasher.Append(data.AsMemory(0, (int)offset));
        }
        file.SetLength(offset);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        var at = (int)offset;
        while (at < length)
        {
            // Whole blocks (not whatever the socket has): a few large file writes instead of many small ones.
            var want = (int)Math.Min(Block, length - at);
            var read = await body.ReadAtLeastAsync(data.AsMemory(at, want), want, throwOnEndOfStream: false, ct);
            if (read < want) throw new IOException($"the download of {hash} ended at byte {at + read} of {length}");
            hasher.Append(data.AsMemory(at, read));
            // Written before it is counted, so what a broken download counted is on disk for the resume.
            await RandomAccess.WriteAsync(file.SafeFileHandle, data.AsMemory(at, read), at, ct);
            at += read;
            BytesDownloaded += read;
            progress?.Report((double)at / length);
        }
        return new Downloaded(data, await hasher.FinishAsync());
    }

    private async Task<Downloaded> DownloadChunks(IBlobGrain blob, string hash, IProgress<double>? progress, CancellationToken ct)
    {
        var info = await blob.GetInfo() ?? throw new InvalidOperationException($"the cluster has no blob {hash}");
        var partial = CachedPath(hash) + ".part";
        await using (var file = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite))
        {
            // Whole chunks already on disk from a broken transfer are kept.
            var done = (int)Math.Min(file.Length / info.ChunkSize, info.ChunkCount);
            file.SetLength((long)done * info.ChunkSize);
            file.Position = file.Length;
            for (var i = done; i < info.ChunkCount; i++)
            {
                var chunk = await blob.ReadChunk(i);
                var expected = (int)Math.Min(info.ChunkSize, info.Length - (long)i * info.ChunkSize);
                if (chunk.Length != expected) throw new InvalidDataException($"chunk {i} of {hash} has {chunk.Length} bytes, expected {expected}");
                await file.WriteAsync(chunk, ct);
                BytesDownloaded += chunk.Length;
                progress?.Report((i + 1.0) / info.ChunkCount);
            }
        }
        var data = await File.ReadAllBytesAsync(partial, ct);
        return new Downloaded(data, Hash(data));
    }

    /// <summary>An endpoint for a fresh staged upload: its id is random, and the ticket is granted for that id.</summary>
    private Task<Endpoint?> StagingEndpoint() =>
        HttpEndpoint(grains.GetGrain<IBlobGrain>(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))));

    /// <summary>
    /// PUT /blobs/uploads/{id} with the whole body while <paramref name="hashing"/> runs, then POST .../seal?hash= with
    /// this agent's own hash: the silo makes the blob readable only if the bytes it received hash to the same key (a
    /// mismatch is refused, and the caller uploads again under the key). Null when the store cannot stage.
    /// </summary>
    private async Task<string?> UploadStaged(Endpoint endpoint, byte[] bytes, Task<string> hashing, IProgress<double>? progress, CancellationToken ct)
    {
        var url = $"{endpoint.BaseUrl}/blobs/uploads/{endpoint.Blob.GetPrimaryKeyString()}";
        using (var put = await SendAsync(endpoint, () => new HttpRequestMessage(HttpMethod.Put, url)
        {
            Content = new ReadOnlyMemoryContent(bytes) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } },
        }, ct))
        {
            if (put.StatusCode == HttpStatusCode.NotImplemented)
            {
                _staging = false; // this cluster's store takes uploads only under their key
                return null;
            }
            await EnsureSuccess(put, "staged upload");
        }
        var hash = await hashing;
        using (var seal = await SendAsync(endpoint, () => new HttpRequestMessage(HttpMethod.Post, $"{url}/seal?hash={hash}"), ct))
            await EnsureSuccess(seal, "seal");
        BytesUploaded += bytes.Length;
        progress?.Report(1);
        return hash;
    }

    private async Task<string> UploadHttp(Endpoint endpoint, string hash, byte[] bytes, IProgress<double>? progress, CancellationToken ct)
    {
        var url = $"{endpoint.BaseUrl}/blobs/{hash}";
        using (var status = await SendAsync(endpoint, () => new HttpRequestMessage(HttpMethod.Get, $"{url}/upload?length={bytes.Length}"), ct))
        {
            await EnsureSuccess(status, "upload status");
            var upload = await status.Content.ReadFromJsonAsync<UploadStatus>(ct) ?? throw new InvalidDataException("empty upload status");
            if (upload.Sealed) return hash;
            var offset = upload.Offset is >= 0 && upload.Offset < bytes.Length ? (int)upload.Offset : 0;
            using var put = await SendAsync(endpoint, () => new HttpRequestMessage(HttpMethod.Put, url)
            {
                // The caller's array goes out as is: no copy of the blob is made for the request.
                Content = new ReadOnlyMemoryContent(bytes.AsMemory(offset))
                {
                    Headers =
                    {
                        ContentType = new MediaTypeHeaderValue("application/octet-stream"),
                        ContentRange = new ContentRangeHeaderValue(offset, bytes.Length - 1, bytes.Length),
                    },
                },
            }, ct);
            await EnsureSuccess(put, "upload");
            BytesUploaded += bytes.Length - offset;
            progress?.Report(1);
            if (put.StatusCode == HttpStatusCode.Accepted) throw new InvalidDataException($"the silo did not seal {hash} after the whole body");
        }
        return hash;
    }

    private async Task UploadChunks(IBlobGrain blob, byte[] bytes, IProgress<double>? progress, CancellationToken ct)
    {
        var missing = await blob.GetMissingChunks(bytes.Length);
        for (var n = 0; n < missing.Count; n++)
        {
            ct.ThrowIfCancellationRequested();
            var i = missing[n];
            var offset = i * BlobLimits.ChunkSize;
            var chunk = bytes.AsSpan(offset, Math.Min(BlobLimits.ChunkSize, bytes.Length - offset)).ToArray();
            await blob.WriteChunk(bytes.Length, i, chunk);
            BytesUploaded += chunk.Length;
            progress?.Report((n + 1.0) / missing.Count);
        }
        await blob.Seal(bytes.Length);
    }

    /// <summary>A refusal's problem text in the exception, so the agent's log says what the silo objected to.</summary>
    private static async Task EnsureSuccess(HttpResponseMessage response, string what)
    {
        if (response.IsSuccessStatusCode) return;
        var detail = await response.Content.ReadAsStringAsync();
        throw new HttpRequestException($"blob {what} refused with {(int)response.StatusCode}: {detail[..Math.Min(detail.Length, 500)]}", null, response.StatusCode);
    }

    private sealed record UploadStatus(long Offset, bool Sealed);

    /// <summary>A downloaded blob and the SHA-256 its bytes actually have (checked against the key by the caller).</summary>
    private sealed record Downloaded(byte[] Data, string Hash);

    private static bool IsHash(string hash) => hash is { Length: 64 } && hash.All(char.IsAsciiHexDigitLower);
}
