using Regatta.Learning.Data;
using Regatta.Runs;

namespace Regatta.Grains.Runs;

/// <summary>
/// File data sources (csv:, idx:, text:) that the silo itself reads, for its held-out validation set. A run spec comes
/// from outside, so its paths are read only under the data root (<see cref="CoordinatorOptions.DataRoot"/>): a relative
/// path is taken from the root; an absolute path elsewhere, a <c>..</c> that climbs out, or a symbolic link (of the file
/// or of any folder on the way) whose target lies outside is refused. Members read their own copies of the files on
/// their own machines; this rule is about the silo's disk.
/// </summary>
public static class DataFiles
{
    private const int MaxLinks = 40;

    /// <summary>Errors (<c>data.source: ...</c>) for each path of a file source not under <paramref name="root"/>; none for generators.</summary>
    public static List<string> Check(DataSpec data, string root)
    {
        var errors = new List<string>();
        if (DataSource.Parse(data.Source, []) is not { IsGenerator: false } source) return errors; // generators, or already reported
        foreach (var path in source.Paths)
            if (Problem(path, root) is { } problem) errors.Add($"data.source: {problem}");
        return errors;
    }

    /// <summary>The spec with its file paths made full paths under <paramref name="root"/>, for the silo to open; throws when one is outside.</summary>
    public static DataSpec ForSilo(DataSpec data, string root)
    {
        if (DataSource.Parse(data.Source, []) is not { IsGenerator: false } source) return data;
        var errors = Check(data, root);
        if (errors.Count > 0) throw new RegattaException("bad_data_path", string.Join("; ", errors));
        var prefix = data.Source.Trim()[..data.Source.Trim().IndexOf(':')];
        return data with { Source = prefix + ":" + string.Join(",", source.Paths.Select(p => FullPath(p, root))) };
    }

    /// <summary>Why <paramref name="path"/> may not be read, or null when it lies under <paramref name="root"/>.</summary>
    public static string? Problem(string path, string root)
    {
        var rootFull = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var full = FullPath(path, root);
        var where = $"'{path}' is outside the data root {rootFull} (Regatta:DataRoot); the silo reads file sources only from under it";
        if (!Under(full, rootFull)) return where;
        var real = RealPath(full);
        if (real is null) return $"'{path}' has too many symbolic links";
        var realRoot = RealPath(rootFull) ?? rootFull;
        return Under(real, realRoot) ? null : $"'{path}' leads through a symbolic link to {real}, outside the data root {rootFull} (Regatta:DataRoot)";
    }

    private static string FullPath(string path, string root) => Path.GetFullPath(Path.Combine(Path.GetFullPath(root), path.Trim()));

    private static bool Under(string path, string root) =>
        path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) && path.Length > root.Length + 1;

    /// <summary>The path with every symbolic link on it resolved (parts that do not exist are kept as written); null on a link loop.</summary>
    private static string? RealPath(string full)
    {
        var links = 0;
        var current = Path.GetPathRoot(full)!;
        var rest = new Queue<string>(full[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        while (rest.TryDequeue(out var part))
        {
            var next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget is { } target)
            {
                if (++links > MaxLinks) return null;
                // Resolve the target as a path of its own (it may hold further links), then go on with what is left.
                var resolved = Path.GetFullPath(Path.Combine(current, target));
                var remaining = rest.ToArray();
                current = Path.GetPathRoot(resolved)!;
                rest = new Queue<string>(resolved[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Concat(remaining));
                continue;
            }
            current = next;
        }
        return current;
    }
}
