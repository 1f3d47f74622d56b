namespace Regatta.Storage;

/// <summary>Names of the storage providers the Regatta silo registers.</summary>
public static class StorageNames
{
    /// <summary>
    /// The named grain storage every Regatta grain persists to: <c>[PersistentState("run", StorageNames.Regatta)]</c>.
    /// The same storage is also registered as Orleans' default storage ("Default").
    /// </summary>
    public const string Regatta = "regatta";

    /// <summary>Orleans' name for the default grain storage (used by <c>[PersistentState("x")]</c> without a storage name).</summary>
    public const string Default = "Default";
}
