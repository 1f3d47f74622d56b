using System.Diagnostics;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Regatta.Grains.Models;
using Regatta.Models;
using Regatta.Silo.Api;
using Regatta.Workers;

namespace Regatta.Silo.Blobs;

/// <summary>
/// The data plane: content-addressed blobs (model versions, updates) over plain HTTP, served by the silo's Kestrel so
/// that weights move at close to what the network allows instead of through 1 MiB Orleans messages. Orleans carries only
/// hashes and tickets. Everything goes through <see cref="IBlobStore"/>, so it works on the disk store and in PostgreSQL.
/// <list type="bullet">
/// <item>GET/HEAD /blobs/{hash}: the bytes, with single Range requests (206) for resumed downloads.</item>
/// <item>PUT /blobs/{hash}: the bytes (Content-Length required), or a part of them with Content-Range; sealed once complete
/// and its SHA-256 matches the key; until then nothing is readable.</item>
/// <item>GET /blobs/{hash}/upload?length=N: where a broken upload of N bytes resumes.</item>
/// </list>
/// Kept outside /api: no JSON body limit or rate limiting applies to weights; refusals are RFC 7807 problems all the same.
/// </summary>
public static class BlobEndpoints
{
    public const string UrlSetting = "Regatta:BlobUrl";

    public static WebApplication MapRegattaBlobs(this WebApplication app)
    {
        AdvertiseBaseUrl(app);
        var blobs = app.MapGroup("/blobs").AnswerProblems("Regatta.Blobs", FromRegatta, AddContentRange).WithTags("Blobs");
        blobs.MapMethods("/{hash}", [HttpMethods.Get, HttpMethods.Head], Download)
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream").Produces(StatusCodes.Status206PartialContent)
            .Problems(400, 401, 404, 416).WithSummary("A stored blob's bytes; one Range (bytes=a-b) gives 206");
        blobs.MapPut("/{hash}", Upload)
            .Accepts<Stream>("application/octet-stream").Produces<BlobDto>(StatusCodes.Status201Created).Produces<BlobDto>()
            .Produces<UploadDto>(StatusCodes.Status202Accepted).Problems(400, 401, 409, 411, 413)
            .WithSummary("Upload a blob under its SHA-256, whole or (Content-Range) in parts; readable once complete and hash-checked");
        blobs.MapPut("/uploads/{id}", Stage)
            .Accepts<Stream>("application/octet-stream").Produces<StagedDto>(StatusCodes.Status202Accepted).Problems(400, 401, 409, 411, 413, 501)
            .WithSummary("Upload a whole blob before knowing its key: answered with the SHA-256 the silo computed; readable only once sealed");
        blobs.MapPost("/uploads/{id}/seal", SealStaged).Produces<BlobDto>(StatusCodes.Status201Created).Produces<BlobDto>()
            .Problems(400, 401, 404, 501).WithSummary("Make a staged upload readable under ?hash=, the sender's own SHA-256 of the bytes; a mismatch discards it");
        blobs.MapGet("/{hash}/upload", UploadStatus).Produces<UploadDto>().Problems(400, 401, 413)
            .WithSummary("Where an upload of ?length= bytes resumes (a multiple of the chunk size)");
        return app;
    }

    private static async Task Download(HttpContext http, string hash, IBlobStore store, ILoggerFactory logs)
    {
        RequireHash(hash);
        await BlobAuth.RequireAsync(http, hash, BlobAccess.Read);
        var info = await store.InfoAsync(hash) ?? throw Unknown(hash);
        var range = BlobRanges.Download(http.Request.Headers.Range, info.Length);
        var (offset, count) = range ?? (0, info.Length);
        var response = http.Response;
        response.StatusCode = range is null ? StatusCodes.Status200OK : StatusCodes.Status206PartialContent;
        response.ContentType = "application/octet-stream";
        response.ContentLength = count;
        response.Headers.AcceptRanges = "bytes";
        response.Headers.ETag = $"\"{hash}\"";
        response.Headers.CacheControl = "private, max-age=31536000, immutable"; // content-addressed: the bytes never change
        if (range is not null) response.Headers.ContentRange = $"bytes {offset}-{offset + count - 1}/{info.Length}";
        if (HttpMethods.IsHead(http.Request.Method)) return;
        var watch = Stopwatch.StartNew();
        await store.CopyToAsync(hash, offset, count, response.BodyWriter, http.RequestAborted);
        logs.CreateLogger("Regatta.Blobs").LogDebug("Served {Hash} [{Offset}, +{Count}) to {Remote} in {Ms} ms",
            hash[..12], offset, count, http.Connection.RemoteIpAddress, watch.ElapsedMilliseconds);
    }

    private static async Task<IResult> Upload(HttpContext http, string hash, IBlobStore store, ILoggerFactory logs)
    {
        RequireHash(hash);
        var length = http.Request.ContentLength ?? throw new ApiProblemException(StatusCodes.Status411LengthRequired,
            "Content-Length", "an upload must say its length", "length_required");
        var (offset, total) = BlobRanges.Upload(http.Request.Headers.ContentRange, length);
        await BlobAuth.RequireAsync(http, hash, BlobAccess.Write);
        if (await store.InfoAsync(hash) is { } stored)
        {
            if (stored.Length != total)
                throw new ApiProblemException(StatusCodes.Status409Conflict, "Content-Range",
                    $"blob {hash[..12]}… is stored with {stored.Length} bytes, not {total}", "length_mismatch");
            return TypedResults.Ok(BlobDto.Of(stored)); // content-addressed: already there means already right; the body is not read
        }
        // Kestrel's default body limit (30 MB) is for forms, not weights: this request may carry exactly what it declared.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = length;
        var watch = Stopwatch.StartNew();
        BlobInfo? sealedInfo;
        try
        {
            sealedInfo = await store.WriteAsync(hash, total, offset, http.Request.Body, http.RequestAborted);
        }
        catch (Exception e) when (e is BadHttpRequestException || (e is IOException or OperationCanceledException && http.RequestAborted.IsCancellationRequested))
        {
            // The client went away mid-body: whole chunks are kept, and the next attempt asks where to resume.
            logs.CreateLogger("Regatta.Blobs").LogInformation("Upload of {Hash} broke off: {Error}", hash[..12], e.Message);
            return Results.Empty;
        }
        var log = logs.CreateLogger("Regatta.Blobs");
        if (sealedInfo is null)
            return TypedResults.Accepted((string?)null, new UploadDto(hash, total, await store.ResumeOffsetAsync(hash, total), false));
        log.LogInformation("Stored blob {Hash} ({Bytes:N0} bytes, from {Offset}) from {Remote} in {Ms} ms",
            hash[..12], total, offset, http.Connection.RemoteIpAddress, watch.ElapsedMilliseconds);
        return TypedResults.Created($"/blobs/{hash}", BlobDto.Of(sealedInfo));
    }

    /// <summary>
    /// A staged upload: the sender streams the bytes while it hashes them itself on another core (rather than hashing
    /// first), the silo hashes them as they arrive, and <see cref="SealStaged"/> makes them readable only under the key
    /// the sender names, if the silo's hash agrees. Authorised like a blob whose key is the upload id.
    /// </summary>
    private static async Task<IResult> Stage(HttpContext http, string id, IBlobStore store, ILoggerFactory logs)
    {
        RequireUploadId(id);
        var length = http.Request.ContentLength ?? throw new ApiProblemException(StatusCodes.Status411LengthRequired,
            "Content-Length", "an upload must say its length", "length_required");
        if (http.Request.Headers.ContentRange.Count > 0)
            throw ApiProblemException.BadRequest("Content-Range", "a staged upload carries the whole blob; resume under the key with PUT /blobs/{hash}");
        await BlobAuth.RequireAsync(http, id, BlobAccess.Write);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = length;
        string? hash;
        try
        {
            hash = await store.StageAsync(id, length, http.Request.Body, http.RequestAborted);
        }
        catch (Exception e) when (e is BadHttpRequestException || (e is IOException or OperationCanceledException && http.RequestAborted.IsCancellationRequested))
        {
            logs.CreateLogger("Regatta.Blobs").LogInformation("Staged upload {Id} broke off: {Error}", id[..12], e.Message);
            return Results.Empty;
        }
        if (hash is null)
            throw ApiProblemException.BadRequest("body", $"the body ended before its {length} bytes; nothing was kept");
        return TypedResults.Accepted((string?)null, new StagedDto(id, hash, length));
    }

    private static async Task<IResult> SealStaged(HttpContext http, string id, string? hash, IBlobStore store, ILoggerFactory logs)
    {
        RequireUploadId(id);
        if (hash is null || !BlobStore.IsValidHash(hash))
            throw ApiProblemException.BadRequest("hash", "?hash= must be the sender's own SHA-256 of the bytes, 64 lowercase hex characters");
        await BlobAuth.RequireAsync(http, id, BlobAccess.Write);
        var existed = await store.InfoAsync(hash) is not null;
        var info = await store.SealStagedAsync(id, hash);
        logs.CreateLogger("Regatta.Blobs").LogInformation("Sealed staged upload {Id} as blob {Hash} ({Bytes:N0} bytes) from {Remote}",
            id[..12], hash[..12], info.Length, http.Connection.RemoteIpAddress);
        return existed ? TypedResults.Ok(BlobDto.Of(info)) : TypedResults.Created($"/blobs/{hash}", BlobDto.Of(info));
    }

    private static async Task<IResult> UploadStatus(HttpContext http, string hash, IBlobStore store)
    {
        RequireHash(hash);
        var raw = http.Request.Query["length"];
        if (raw.Count != 1 || !long.TryParse(raw[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var total))
            throw ApiProblemException.BadRequest("length", "the blob's length in bytes is required, e.g. ?length=104857600");
        if (total is <= 0 or > BlobLimits.MaxBlobBytes)
            throw new ApiProblemException(StatusCodes.Status413PayloadTooLarge, "length", $"a blob must have 1 to {BlobLimits.MaxBlobBytes} bytes, not {total}", "blob_too_large");
        await BlobAuth.RequireAsync(http, hash, BlobAccess.Write);
        var stored = await store.InfoAsync(hash);
        return TypedResults.Ok(new UploadDto(hash, total, stored?.Length ?? await store.ResumeOffsetAsync(hash, total), stored is not null));
    }

    /// <summary>The base URL handed out with tickets: Regatta:BlobUrl, else this silo's own HTTP address once it listens (see <see cref="ChooseBaseUrl"/>).</summary>
    private static void AdvertiseBaseUrl(WebApplication app)
    {
        var plane = app.Services.GetRequiredService<BlobDataPlane>();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Regatta.Blobs");
        if (app.Configuration[UrlSetting] is { Length: > 0 } configured)
        {
            if (!Uri.TryCreate(configured, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Query.Length > 0)
                throw new InvalidOperationException($"{UrlSetting} must be an absolute http(s) URL without query, e.g. http://10.0.0.5:5080; got '{configured}'");
            plane.BaseUrl = configured.TrimEnd('/');
            return;
        }
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var advertised = app.Services.GetService<Microsoft.Extensions.Options.IOptions<Orleans.Configuration.EndpointOptions>>()?.Value.AdvertisedIPAddress;
            plane.BaseUrl = ChooseBaseUrl(addresses, advertised);
            if (plane.BaseUrl is null && addresses.Count == 0)
                log.LogInformation("No HTTP listener (an in-memory server): agents move weights through grain calls unless they name {Setting}", UrlSetting);
            else if (plane.BaseUrl is null)
                log.LogWarning("No blob URL to advertise (HTTP listens on {Addresses}; set {Setting}): agents move weights through grain calls, several times slower",
                    string.Join(", ", addresses), UrlSetting);
            else
                log.LogInformation("Advertising blob data plane at {Url} (set {Setting} to override)", plane.BaseUrl, UrlSetting);
        });
    }

    /// <summary>
    /// The URL agents can dial, from the addresses Kestrel listens on: the first http(s) one with a host; else, for a
    /// wildcard binding (0.0.0.0, [::], +, *), its port at <paramref name="advertisedIp"/>, the address the silo advertises
    /// to Orleans clients (Regatta:AdvertisedIp, or the host's first non-loopback address), which agents already reach.
    /// </summary>
    public static string? ChooseBaseUrl(IEnumerable<string> addresses, System.Net.IPAddress? advertisedIp)
    {
        var uris = addresses.Select(a => Uri.TryCreate(a.Replace("://+", "://0.0.0.0").Replace("://*", "://0.0.0.0"), UriKind.Absolute, out var u) ? u : null)
            .OfType<Uri>().Where(u => u.Scheme is "http" or "https").ToList();
        static bool Wildcard(Uri u) => u.Host is "0.0.0.0" or "[::]" or "::";
        if (uris.FirstOrDefault(u => !Wildcard(u)) is { } specific) return specific.GetLeftPart(UriPartial.Authority);
        if (advertisedIp is null || advertisedIp.Equals(System.Net.IPAddress.Any) || advertisedIp.Equals(System.Net.IPAddress.IPv6Any)) return null;
        return uris.FirstOrDefault() is { } wildcard ? $"{wildcard.Scheme}://{new System.Net.IPEndPoint(advertisedIp, wildcard.Port)}" : null;
    }

    /// <summary>The blob store's refusal codes.</summary>
    private static ApiProblemException FromRegatta(RegattaException e, HttpContext http) => e.Code switch
    {
        "unknown_blob" => new ApiProblemException(404, "hash", e.Message, e.Code),
        "bad_hash" => new ApiProblemException(400, "hash", e.Message, e.Code),
        "blob_too_large" => new ApiProblemException(413, "Content-Length", e.Message, e.Code),
        "bad_offset" => new ApiProblemException(409, "Content-Range", e.Message, e.Code),
        "upload_busy" => new ApiProblemException(409, http.Request.RouteValues.ContainsKey("id") ? "id" : "hash", e.Message, e.Code),
        "hash_mismatch" => new ApiProblemException(400, "body", e.Message, e.Code),
        "bad_upload_id" => new ApiProblemException(400, "id", e.Message, e.Code),
        "unknown_upload" => new ApiProblemException(404, "id", e.Message, e.Code),
        "staging_unsupported" => new ApiProblemException(501, "id", e.Message, e.Code),
        "bad_range" => new ApiProblemException(416, "Range", e.Message, e.Code),
        _ => new ApiProblemException(400, "request", e.Message, e.Code),
    };

    /// <summary>A 416 says how long the blob is (RFC 9110), so the client can ask again within it.</summary>
    private static async Task AddContentRange(HttpContext http, ApiProblemException problem)
    {
        if (problem.Status == StatusCodes.Status416RangeNotSatisfiable && http.Request.RouteValues["hash"] is string hash &&
            BlobStore.IsValidHash(hash) && await http.RequestServices.GetRequiredService<IBlobStore>().InfoAsync(hash) is { } info)
            http.Response.Headers.ContentRange = $"bytes */{info.Length}";
    }

    private static void RequireHash(string hash)
    {
        if (!BlobStore.IsValidHash(hash))
            throw new ApiProblemException(StatusCodes.Status400BadRequest, "hash", "a blob key must be 64 lowercase hex characters (SHA-256)", "bad_hash");
    }

    private static void RequireUploadId(string id)
    {
        if (!BlobStore.IsValidHash(id))
            throw new ApiProblemException(StatusCodes.Status400BadRequest, "id", "an upload id must be 64 lowercase hex characters (random)", "bad_upload_id");
    }

    private static ApiProblemException Unknown(string hash) => new(StatusCodes.Status404NotFound, "hash", $"blob {hash} is not stored", "unknown_blob");
}

public sealed record BlobDto([property: JsonPropertyName("hash")] string Hash, [property: JsonPropertyName("length")] long Length)
{
    public static BlobDto Of(BlobInfo info) => new(info.Hash, info.Length);
}

/// <summary>An unfinished (or finished: <see cref="Sealed"/>) upload: <see cref="Offset"/> is where the next PUT starts.</summary>
public sealed record UploadDto(
    [property: JsonPropertyName("hash")] string Hash,
    [property: JsonPropertyName("length")] long Length,
    [property: JsonPropertyName("offset")] long Offset,
    [property: JsonPropertyName("sealed")] bool Sealed);

/// <summary>A staged upload's bytes arrived: <see cref="Hash"/> is their SHA-256 as the silo computed it (not yet readable).</summary>
public sealed record StagedDto(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("hash")] string Hash,
    [property: JsonPropertyName("length")] long Length);
