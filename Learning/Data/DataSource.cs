namespace Regatta.Learning.Data;

public enum DataSourceKind { Blobs, Digits, Chars, Csv, Idx, Text }

/// <summary>A parsed <c>data.source</c>: a generator name, or a loader prefix with its file path(s).</summary>
public sealed record DataSource(DataSourceKind Kind, IReadOnlyList<string> Paths)
{
    public static IReadOnlyList<string> Known { get; } = ["blobs", "digits", "chars", "csv:", "idx:", "text:"];

    public bool IsGenerator => Kind is DataSourceKind.Blobs or DataSourceKind.Digits or DataSourceKind.Chars;

    /// <summary>Parses the source, adding a <c>data.source: ...</c> error and returning null when it is not usable.</summary>
    public static DataSource? Parse(string? source, List<string> errors)
    {
        var text = source?.Trim() ?? "";
        var colon = text.IndexOf(':');
        var (name, argument) = colon < 0 ? (text, "") : (text[..colon], text[(colon + 1)..].Trim());
        switch (name.ToLowerInvariant())
        {
            case "blobs" when colon < 0: return new(DataSourceKind.Blobs, []);
            case "digits" when colon < 0: return new(DataSourceKind.Digits, []);
            case "chars" when colon < 0: return new(DataSourceKind.Chars, []);
            case "csv": return WithPaths(DataSourceKind.Csv, argument, 1, "csv:PATH", errors);
            case "idx": return WithPaths(DataSourceKind.Idx, argument, 2, "idx:IMAGES_PATH,LABELS_PATH", errors);
            case "text": return WithPaths(DataSourceKind.Text, argument, 1, "text:PATH", errors);
        }
        errors.Add($"data.source: unknown generator '{text}' (known: {string.Join(", ", Known)})");
        return null;
    }

    private static DataSource? WithPaths(DataSourceKind kind, string argument, int count, string form, List<string> errors)
    {
        var paths = count == 1 ? [argument] : argument.Split(',').Select(p => p.Trim()).ToArray();
        if (paths.Length != count || paths.Any(p => p.Length == 0))
        {
            errors.Add($"data.source: expected {form}");
            return null;
        }
        if (paths.Any(p => p.IndexOfAny(Path.GetInvalidPathChars()) >= 0))
        {
            errors.Add("data.source: path contains invalid characters");
            return null;
        }
        return new(kind, paths);
    }
}
