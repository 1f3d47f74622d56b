namespace Regatta.Storage;

/// <summary>Settings of the local storage mode: grain state and reminders in one SQLite file.</summary>
public sealed class RegattaSqliteStorageOptions
{
    /// <summary>File name of the database inside <see cref="DataDir"/>.</summary>
    public const string DatabaseFileName = "regatta.db";

    /// <summary>Folder that holds <see cref="DatabaseFileName"/> (<c>Regatta:DataDir</c>, default <c>./data</c>). Created if missing.</summary>
    public string DataDir { get; set; } = "data";

    /// <summary>Name of the grain storage provider (<see cref="StorageNames.Regatta"/>).</summary>
    public string StorageName { get; set; } = StorageNames.Regatta;

    /// <summary>Also register the same storage as Orleans' default storage ("Default"). On by default.</summary>
    public bool RegisterAsDefault { get; set; } = true;

    /// <summary>
    /// How long one statement waits for a write lock held by another connection before it fails with
    /// "database is locked". Microsoft.Data.Sqlite is synchronous, so the wait blocks an Orleans scheduler
    /// thread: keep it short. Whole seconds are used for the driver's retry budget (at least 1 s) and the
    /// exact value for SQLite's own busy handler.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Lowest reminder period Orleans accepts (its default is one minute). Regatta's run reminders use about a
    /// minute; tests use a few seconds.
    /// </summary>
    public TimeSpan MinimumReminderPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Use <c>PRAGMA synchronous=NORMAL</c> on every connection (about 3x faster writes in WAL mode). A commit
    /// survives a crash of the process; only a power loss or OS crash can lose the last commits. Set false
    /// for <c>synchronous=FULL</c>.
    /// </summary>
    public bool SynchronousNormal { get; set; } = true;

    /// <summary>
    /// Mix the grain type into the stored hashes so that two grain types with the same key and the same state
    /// name never share a row (Orleans' ADO.NET storage keys state by state name and key only, see
    /// dotnet/orleans#8746). On by default; a database written with one setting is not readable with the other.
    /// </summary>
    public bool IsolateGrainTypes { get; set; } = true;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDir))
            throw new ArgumentException("Regatta SQLite storage: DataDir (Regatta:DataDir) must name a folder.", nameof(DataDir));
        if (string.IsNullOrWhiteSpace(StorageName))
            throw new ArgumentException("Regatta SQLite storage: StorageName must not be empty.", nameof(StorageName));
        if (BusyTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(BusyTimeout), BusyTimeout, "Regatta SQLite storage: BusyTimeout must be positive.");
        if (MinimumReminderPeriod <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(MinimumReminderPeriod), MinimumReminderPeriod, "Regatta SQLite storage: MinimumReminderPeriod must be positive.");
    }
}
