using System.Text;

namespace Regatta.Security;

/// <summary>
/// Files that hold secrets (admin key, dashboard password, worker credential, the local silo's certificate): readable by
/// their owner only (0600) from the moment they exist, and never seen half written.
/// </summary>
public static class PrivateFile
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>One line of text; see <see cref="Write(string, ReadOnlySpan{byte}, bool)"/>.</summary>
    public static bool WriteLine(string path, string text, bool overwrite = true) => Write(path, Encoding.UTF8.GetBytes(text + "\n"), overwrite);

    /// <summary>
    /// Writes a file beside <paramref name="path"/>, created 0600 and flushed, then moves it into place. Without
    /// <paramref name="overwrite"/> an existing file wins (another writer got there first) and this returns false.
    /// </summary>
    public static bool Write(string path, ReadOnlySpan<byte> bytes, bool overwrite = true)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly;
        using (var file = new FileStream(temp, options))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }
        try
        {
            File.Move(temp, path, overwrite);
            return true;
        }
        catch (IOException) when (!overwrite && File.Exists(path))
        {
            File.Delete(temp);
            return false;
        }
    }

    /// <summary>An existing secret file that others may read is made the owner's only.</summary>
    public static void Tighten(string path)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path) && (File.GetUnixFileMode(path) & ~OwnerOnly) != 0)
            File.SetUnixFileMode(path, OwnerOnly);
    }
}
