using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Regatta.Dashboard.Views;

/// <summary>A spec error placed in the YAML text: its line (1-based) when it can be found, the field path when known.</summary>
public sealed record SpecError(int? Line, string? Path, string Message)
{
    public override string ToString() => Line is { } line ? $"line {line}: {(Path is null ? "" : Path + ": ")}{Message}" : $"{Path}: {Message}";
}

/// <summary>
/// Turns the spec's errors ("line N, column M: ..." from the parser, "path: message" from validation) into errors at a
/// line of the text the operator typed, so the editor can point at it.
/// </summary>
public static partial class SpecErrors
{
    [GeneratedRegex(@"^line (\d+), column (\d+): (.*)$", RegexOptions.Singleline)]
    private static partial Regex LineError();

    [GeneratedRegex(@"^([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)*): (.*)$", RegexOptions.Singleline)]
    private static partial Regex PathError();

    public static IReadOnlyList<SpecError> Locate(string yaml, IEnumerable<string> errors)
    {
        YamlMappingNode? root = null;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            root = stream.Documents.FirstOrDefault()?.RootNode as YamlMappingNode;
        }
        catch (YamlException) { } // unparsable text: only the parser's own line numbers are available

        return errors.Select(error =>
        {
            if (LineError().Match(error) is { Success: true } l)
                return new SpecError(int.Parse(l.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), null, l.Groups[3].Value);
            if (PathError().Match(error) is { Success: true } p)
                return new SpecError(root is null ? null : LineOf(root, p.Groups[1].Value), p.Groups[1].Value, p.Groups[2].Value);
            return new SpecError(null, null, error);
        }).ToList();
    }

    /// <summary>The line of the deepest key of <paramref name="path"/> present in the document (a missing key points at its parent).</summary>
    public static int? LineOf(YamlMappingNode root, string path)
    {
        int? line = null;
        YamlNode? node = root;
        foreach (var segment in path.Split('.'))
        {
            if (node is not YamlMappingNode mapping) break;
            var entry = mapping.Children.FirstOrDefault(c => c.Key is YamlScalarNode k && string.Equals(k.Value, segment, StringComparison.OrdinalIgnoreCase));
            if (entry.Key is null) break;
            line = (int)entry.Key.Start.Line;
            node = entry.Value;
        }
        return line;
    }
}
