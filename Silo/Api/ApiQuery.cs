using System.Globalization;
using Regatta.Grains;

namespace Regatta.Silo.Api;

/// <summary>Query and route values, parsed here so a bad one is a problem that names it (binding would only say 400).</summary>
public static class ApiQuery
{
    /// <summary>An id from the route, query or body: checked before any grain is touched.</summary>
    public static string Id(string? value, string field) =>
        Ids.IsValid(value) ? value! : throw ApiProblemException.BadRequest(field,
            value is null or "" ? "is required" : $"must be 1 to {Ids.MaxLength} characters of A-Z a-z 0-9 _ . - starting with a letter or digit");

    public static int Int(HttpContext http, string name, int fallback, int min, int max)
    {
        var values = http.Request.Query[name];
        if (values.Count == 0) return fallback;
        if (values.Count > 1) throw ApiProblemException.BadRequest(name, "given more than once");
        return int.TryParse(values[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw ApiProblemException.BadRequest(name, $"must be a whole number in [{min}, {max}]");
    }

    public static int RequiredInt(HttpContext http, string name, int min, int max) =>
        http.Request.Query.ContainsKey(name) ? Int(http, name, 0, min, max) : throw ApiProblemException.BadRequest(name, $"is required (a whole number in [{min}, {max}])");

    public static string? String(HttpContext http, string name)
    {
        var values = http.Request.Query[name];
        if (values.Count > 1) throw ApiProblemException.BadRequest(name, "given more than once");
        return values.Count == 0 ? null : values[0];
    }

    public static (int Skip, int Take) Page(HttpContext http, int defaultTake = 50) =>
        (Int(http, "skip", 0, 0, int.MaxValue), Int(http, "take", defaultTake, 1, Paging.MaxTake));
}
