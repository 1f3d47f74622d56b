namespace Regatta.Grains;

/// <summary>The named grain storage every Regatta grain persists to (SQLite locally, PostgreSQL in production).</summary>
public static class StoreNames
{
    public const string Regatta = "regatta";
}
