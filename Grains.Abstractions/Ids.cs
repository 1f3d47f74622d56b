using System.Text.RegularExpressions;

namespace Regatta;

/// <summary>Run, worker and user ids come from outside: a bounded alphabet and length, checked before any grain is touched.</summary>
public static partial class Ids
{
    public const int MaxLength = 64;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex Pattern();

    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id);

    public static string Require(string? id, string what) =>
        IsValid(id) ? id! : throw new ArgumentException($"{what}: must be 1 to {MaxLength} characters of A-Z a-z 0-9 _ . - starting with a letter or digit");
}
