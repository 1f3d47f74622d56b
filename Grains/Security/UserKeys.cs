
namespace Regatta.Grains.Security;

/// <summary>
/// A user's API key names its user: "rgu_{userId}.{secret}". The silo finds whose key a request carries without an
/// index of keys, checks it against that user's stored hash, and can tell "not your user" (403) from "no valid key"
/// (401). Only the SHA-256 of the whole key is stored.
/// </summary>
public static class UserKeys
{
    private const string Prefix = "rgu_";

    public static string New(string userId) => $"{Prefix}{Ids.Require(userId, "user_id")}.{Secrets.New()}";

    /// <summary>The user a key claims to belong to; null when it is not shaped like a user key.</summary>
    public static string? UserOf(string? key)
    {
        if (key is null || key.Length > 300 || !key.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var dot = key.LastIndexOf('.');
        if (dot <= Prefix.Length || dot == key.Length - 1) return null;
        var userId = key[Prefix.Length..dot];
        return Ids.IsValid(userId) ? userId : null;
    }
}
