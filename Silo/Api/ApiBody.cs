using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Regatta.Silo.Api;

/// <summary>
/// Reads request bodies itself (rather than through parameter binding) so that every failure, from a wrong content
/// type to a wrong field type, becomes a problem naming the field, and no body larger than the limit is buffered.
/// </summary>
public static class ApiBody
{
    public static readonly string[] YamlTypes = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];

    /// <summary>The JSON body as <typeparamref name="T"/>; null only when <paramref name="optional"/> and the body is empty.</summary>
    public static async Task<T?> JsonAsync<T>(HttpContext http, bool optional = false) where T : class
    {
        var bytes = await BytesAsync(http);
        if (bytes.Length == 0)
            return optional ? null : throw ApiProblemException.BadRequest("body", "a JSON body is required");
        if (!IsJson(http.Request.ContentType))
            throw UnsupportedType(http.Request.ContentType, "application/json");
        return Deserialize<T>(http, bytes);
    }

    public static T Deserialize<T>(HttpContext http, byte[] bytes) where T : class
    {
        var options = http.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        try
        {
            return JsonSerializer.Deserialize<T>(bytes, options) ?? throw ApiProblemException.BadRequest("body", "must be a JSON object, not null");
        }
        catch (JsonException e)
        {
            throw ApiJson.Problem(e);
        }
    }

    /// <summary>The body's bytes, refusing (413) more than Regatta:Api:MaxBodyBytes whatever Content-Length claims.</summary>
    public static async Task<byte[]> BytesAsync(HttpContext http)
    {
        var limit = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.MaxBodyBytes;
        if (http.Request.ContentLength > limit) throw TooLarge(limit);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
            {
                if (buffer.Length + read > limit) throw TooLarge(limit);
                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(limit);
        }
        return buffer.ToArray();
    }

    public static string Utf8(byte[] bytes)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw ApiProblemException.BadRequest("body", "is not valid UTF-8 text");
        }
    }

    public static bool IsJson(string? contentType) => MediaType(contentType) is { } t && (t == "application/json" || t.EndsWith("+json", StringComparison.Ordinal));

    public static bool IsYaml(string? contentType) => MediaType(contentType) is { } t && YamlTypes.Contains(t);

    public static ApiProblemException UnsupportedType(string? contentType, string expected) =>
        new(StatusCodes.Status415UnsupportedMediaType, "Content-Type",
            $"'{contentType ?? "(none)"}' is not accepted here; send {expected}", "unsupported_media_type");

    private static string? MediaType(string? contentType) =>
        contentType?.Split(';', 2)[0].Trim().ToLowerInvariant() is { Length: > 0 } t ? t : null;

    private static ApiProblemException TooLarge(int limit) =>
        new(StatusCodes.Status413PayloadTooLarge, "body", $"larger than the limit of {limit} bytes", "body_too_large");
}
