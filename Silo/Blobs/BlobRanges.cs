using System.Globalization;
using Regatta.Models;
using Regatta.Silo.Api;

namespace Regatta.Silo.Blobs;

/// <summary>The byte ranges of the data plane: Range on downloads, Content-Range on resumed or partial uploads (RFC 9110).</summary>
public static class BlobRanges
{
    /// <summary>
    /// The one range a download asks for: (offset, count), or null for the whole blob. Only "bytes=a-b", "bytes=a-" and
    /// "bytes=-n" are served; several ranges, other units or bad numbers are refused rather than guessed at.
    /// </summary>
    public static (long Offset, long Count)? Download(string? header, long length)
    {
        if (string.IsNullOrEmpty(header)) return null;
        if (!header.StartsWith("bytes=", StringComparison.Ordinal) || header.Contains(','))
            throw Bad("Range", "only one range of the form bytes=first-last, bytes=first- or bytes=-suffix is served");
        var spec = header.AsSpan(6).Trim();
        var dash = spec.IndexOf('-');
        if (dash < 0) throw Bad("Range", $"'{header}' has no '-'");
        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        long start, end;
        if (first.IsEmpty)
        {
            var suffix = Number(last, "Range");
            if (suffix == 0) throw Unsatisfiable(length, "a suffix range of 0 bytes is empty");
            start = Math.Max(0, length - suffix);
            end = length - 1;
        }
        else
        {
            start = Number(first, "Range");
            end = last.IsEmpty ? long.MaxValue : Number(last, "Range");
            if (end < start) throw Bad("Range", $"'{header}' ends before it starts");
            if (start >= length) throw Unsatisfiable(length, $"the range starts at {start}, past the end");
            end = Math.Min(end, length - 1);
        }
        return (start, end - start + 1);
    }

    /// <summary>
    /// What a PUT carries: (offset, total length). Without Content-Range the body is the whole blob from 0; with
    /// "bytes first-last/total" it is that part, which must match Content-Length.
    /// </summary>
    public static (long Offset, long Total) Upload(string? contentRange, long contentLength)
    {
        if (string.IsNullOrEmpty(contentRange)) return (0, Length(contentLength));
        const string example = "send 'bytes first-last/total', e.g. bytes 1048576-2097151/5000000";
        if (!contentRange.StartsWith("bytes ", StringComparison.Ordinal)) throw Bad("Content-Range", example);
        var spec = contentRange.AsSpan(6).Trim();
        var slash = spec.IndexOf('/');
        var dash = spec.IndexOf('-');
        if (slash < 0 || dash < 0 || dash > slash) throw Bad("Content-Range", example);
        var first = Number(spec[..dash], "Content-Range");
        var last = Number(spec[(dash + 1)..slash], "Content-Range");
        var total = Length(Number(spec[(slash + 1)..], "Content-Range"));
        if (last < first || last >= total)
            throw Bad("Content-Range", $"bytes {first}-{last} do not lie within a blob of {total} bytes");
        if (last - first + 1 != contentLength)
            throw Bad("Content-Range", $"bytes {first}-{last} are {last - first + 1} bytes but Content-Length is {contentLength}");
        return (first, total);
    }

    private static long Length(long total) =>
        total is > 0 and <= BlobLimits.MaxBlobBytes
            ? total
            : throw new ApiProblemException(StatusCodes.Status413PayloadTooLarge, "Content-Length",
                $"a blob must have 1 to {BlobLimits.MaxBlobBytes} bytes, not {total}", "blob_too_large");

    private static long Number(ReadOnlySpan<char> text, string field) =>
        long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw Bad(field, $"'{text.ToString()}' is not a byte position");

    private static ApiProblemException Bad(string field, string message) => new(StatusCodes.Status400BadRequest, field, message, "bad_range");

    private static ApiProblemException Unsatisfiable(long length, string message) =>
        new(StatusCodes.Status416RangeNotSatisfiable, "Range", $"{message}; the blob has {length} bytes", "range_not_satisfiable");
}
