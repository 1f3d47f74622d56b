using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Regatta.Runs;

namespace Regatta.Silo.Api;

/// <summary>
/// The API's JSON: camelCase (the volunteer-network DTOs name their snake_case fields explicitly), enums as camelCase
/// strings, durations as in YAML ("30s"), and strict reading: unknown or duplicate fields, wrong types and nulls where
/// a value is needed are errors that name the path.
/// </summary>
public static partial class ApiJson
{
    public static void Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        o.PropertyNameCaseInsensitive = false;
        o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        o.AllowDuplicateProperties = false;
        o.RespectNullableAnnotations = true;
        o.NumberHandling = JsonNumberHandling.Strict;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        o.Converters.Add(new DurationConverter());
    }

    /// <summary>Turns a deserialisation failure into errors filed under the JSON path at fault (e.g. "aggregation.trimFraction").</summary>
    public static ApiProblemException Problem(JsonException e)
    {
        var path = Field(e.Path);
        string message;
        if (UnknownMember().Match(e.Message) is { Success: true } unknown)
        {
            message = "unknown field; remove it or check its spelling";
            path = path == "body" ? unknown.Groups[1].Value : path;
        }
        else if (e.Message.StartsWith("Duplicate property", StringComparison.Ordinal))
            message = "given more than once";
        else if (e.Message.Contains("doesn't allow setting null", StringComparison.Ordinal))
            message = "must not be null";
        else if (Conversion().Match(e.Message) is { Success: true } conversion)
            message = Expected(conversion.Groups[1].Value);
        else if (e.InnerException?.GetType().Name == "JsonReaderException")
        {
            // Not a field's fault: the body as a whole does not parse. The path says how far it got.
            message = $"malformed JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}" +
                      (path == "body" ? "" : $" (in {path})") + $": {FirstSentence(e.InnerException.Message)}";
            path = "body";
        }
        else
            message = FirstSentence(e.Message);
        return new ApiProblemException(StatusCodes.Status400BadRequest, path, message, "bad_json");
    }

    private static string Field(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    private static string Expected(string type) => type switch
    {
        "System.Int32" or "System.Nullable`1[System.Int32]" => "must be a whole number (32-bit)",
        "System.Int64" or "System.Nullable`1[System.Int64]" => "must be a whole number (64-bit)",
        "System.Double" or "System.Nullable`1[System.Double]" => "must be a number",
        "System.String" => "must be a string",
        "System.Boolean" or "System.Nullable`1[System.Boolean]" => "must be true or false",
        _ when EnumNamed(type) is { } e => $"must be one of {string.Join(", ", Enum.GetNames(e).Select(Camel))}",
        _ when type.StartsWith("System.Collections.Generic.List", StringComparison.Ordinal) => "must be an array",
        _ when type.StartsWith("System.Collections.Generic.Dictionary", StringComparison.Ordinal) => "must be an object",
        _ => "must be an object of the documented shape",
    };

    private static Type? EnumNamed(string name)
    {
        var inner = name.StartsWith("System.Nullable`1[", StringComparison.Ordinal) ? name[18..^1] : name;
        return new[] { typeof(RunSpec).Assembly, typeof(ApiJson).Assembly }.Select(a => a.GetType(inner)).FirstOrDefault(t => t is { IsEnum: true });
    }

    private static string Camel(string name) => char.ToLowerInvariant(name[0]) + name[1..];

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0) cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).Trim();
    }

    [GeneratedRegex("^The JSON property '(.+)' could not be mapped")]
    private static partial Regex UnknownMember();

    [GeneratedRegex("could not be converted to ([^ ]+)\\. Path")]
    private static partial Regex Conversion();

    /// <summary>Durations as in the YAML spec: "30s", "2m", "500ms", or a number of seconds.</summary>
    private sealed class DurationConverter : JsonConverter<TimeSpan>
    {
        public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            try
            {
                return reader.TokenType switch
                {
                    JsonTokenType.String => RunSpecYaml.ParseDuration(reader.GetString()!),
                    JsonTokenType.Number => RunSpecYaml.ParseDuration(reader.GetDouble().ToString(CultureInfo.InvariantCulture)),
                    _ => throw new JsonException("must be a duration such as \"30s\", \"2m\" or \"500ms\""),
                };
            }
            catch (FormatException e)
            {
                throw new JsonException(e.Message);
            }
        }

        public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.TotalSeconds == Math.Floor(value.TotalSeconds)
                ? $"{value.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s"
                : $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms");
    }
}
