using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Regatta.Storage;

/// <summary>
/// The local-mode SQLite file: creates the data folder and the file, switches it to WAL, applies the
/// embedded schema (deploy/sqlite/schema.sql) and hands out the connection settings the Orleans ADO.NET
/// providers use.
/// </summary>
public sealed class RegattaSqliteDatabase
{
    /// <summary>The ADO.NET invariant the Orleans providers need for SQLite (served by Microsoft.Data.Sqlite).</summary>
    public const string Invariant = "System.Data.SQLite";

    private const string SchemaResourceName = "Regatta.Storage.Sqlite.schema.sql";

    /// <summary>Every query key the schema must provide: grain persistence, then the seven reminder keys.</summary>
    public static IReadOnlyList<string> RequiredQueryKeys { get; } =
    [
        "WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey", "DeleteStorageKey",
        "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey",
        "ReadRangeRows1Key", "ReadRangeRows2Key", "DeleteReminderRowKey", "DeleteReminderRowsKey",
    ];

    private static readonly Lazy<string> Schema = new(LoadSchema);

    private RegattaSqliteDatabase(string dataDirectory, string databasePath, string connectionString, string journalMode, DbDataSource dataSource)
    {
        DataDirectory = dataDirectory;
        DatabasePath = databasePath;
        ConnectionString = connectionString;
        JournalMode = journalMode;
        DataSource = dataSource;
    }

    /// <summary>Full path of the data folder.</summary>
    public string DataDirectory { get; }

    /// <summary>Full path of <c>regatta.db</c>.</summary>
    public string DatabasePath { get; }

    /// <summary>Connection string (pooled, with the busy timeout as default command timeout).</summary>
    public string ConnectionString { get; }

    /// <summary>Journal mode reported by SQLite after <c>PRAGMA journal_mode=WAL</c> (normally "wal").</summary>
    public string JournalMode { get; }

    /// <summary>Connections for the Orleans providers, with the per-connection pragmas applied.</summary>
    public DbDataSource DataSource { get; }

    /// <summary>The schema script embedded from deploy/sqlite/schema.sql.</summary>
    public static string SchemaScript => Schema.Value;

    /// <summary>
    /// Creates the data folder and the database file if needed, sets WAL and applies the schema. Safe to call
    /// at every start. Throws <see cref="InvalidOperationException"/> with a clear message when the folder or
    /// the file cannot be created or written.
    /// </summary>
    public static RegattaSqliteDatabase Open(RegattaSqliteStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        var dataDirectory = EnsureWritableDirectory(options.DataDir);
        var databasePath = Path.Combine(dataDirectory, RegattaSqliteStorageOptions.DatabaseFileName);

        var busySeconds = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds);
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = Math.Max(1, busySeconds),
        }.ToString();

        string journalMode;
        try
        {
            MakePrivate(databasePath);
            journalMode = Initialize(databasePath, options.BusyTimeout);
            MakePrivate(databasePath);
        }
        catch (SqliteException ex)
        {
            throw new InvalidOperationException(
                $"Regatta cannot open or initialise the SQLite database '{databasePath}': {ex.Message} " +
                "Check that the file is a Regatta database, is writable and is not locked by another process.", ex);
        }

        var pragmas = string.Create(CultureInfo.InvariantCulture,
            $"PRAGMA busy_timeout={(long)options.BusyTimeout.TotalMilliseconds}; PRAGMA synchronous={(options.SynchronousNormal ? "NORMAL" : "FULL")};");
        return new RegattaSqliteDatabase(dataDirectory, databasePath, connectionString, journalMode,
            new SqlitePragmaDataSource(connectionString, pragmas));
    }

    /// <summary>Applies the schema to an open connection in one transaction (idempotent).</summary>
    public static void ApplySchema(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var transaction = connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = SchemaScript;
            command.ExecuteNonQuery();
        }

        var missing = MissingQueryKeys(connection, transaction);
        if (missing.Count > 0)
            throw new InvalidOperationException($"The Regatta SQLite schema lacks the Orleans queries: {string.Join(", ", missing)}.");
        transaction.Commit();
    }

    /// <summary>
    /// The database holds every grain's state (run specs, workers, jobs): mode 0600 from the moment it exists (an empty
    /// file is an empty SQLite database), and an older file, with its WAL and shared-memory files, is narrowed to 0600.
    /// SQLite creates the -wal and -shm files with the database file's mode.
    /// </summary>
    private static void MakePrivate(string databasePath)
    {
        if (OperatingSystem.IsWindows()) return;
        const UnixFileMode owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var created = new FileStream(databasePath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = owner,
            });
        }
        catch (IOException) when (File.Exists(databasePath))
        {
            // already there
        }
        foreach (var path in new[] { databasePath, databasePath + "-wal", databasePath + "-shm", databasePath + "-journal" })
            if (File.Exists(path) && File.GetUnixFileMode(path) != owner) File.SetUnixFileMode(path, owner);
    }

    private static string Initialize(string databasePath, TimeSpan busyTimeout)
    {
        // A private, unpooled connection: nothing it does can leak into the providers' pool.
        var initTimeout = TimeSpan.FromSeconds(Math.Max(5, busyTimeout.TotalSeconds));
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = (int)Math.Ceiling(initTimeout.TotalSeconds),
        };
        using var connection = new SqliteConnection(builder.ToString());
        connection.Open();

        using (var command = connection.CreateCommand())
        {
            command.CommandText = string.Create(CultureInfo.InvariantCulture, $"PRAGMA busy_timeout={(long)initTimeout.TotalMilliseconds};");
            command.ExecuteNonQuery();
        }

        string journalMode;
        using (var command = connection.CreateCommand())
        {
            // WAL is a property of the file: set once, it stays. It cannot change inside a transaction.
            command.CommandText = "PRAGMA journal_mode=WAL;";
            journalMode = Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "";
        }

        ApplySchema(connection);
        return journalMode;
    }

    private static List<string> MissingQueryKeys(SqliteConnection connection, SqliteTransaction transaction)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT QueryKey FROM OrleansQuery";
        using var reader = command.ExecuteReader();
        while (reader.Read())
            present.Add(reader.GetString(0));
        return RequiredQueryKeys.Where(k => !present.Contains(k)).ToList();
    }

    private static string EnsureWritableDirectory(string dataDir)
    {
        string fullPath;
        try
        {
            fullPath = Path.GetFullPath(dataDir);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException or System.Security.SecurityException)
        {
            throw new InvalidOperationException($"Regatta data directory '{dataDir}' (Regatta:DataDir) is not a valid path: {ex.Message}", ex);
        }

        try
        {
            Directory.CreateDirectory(fullPath);
            var probe = Path.Combine(fullPath, $".regatta-write-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException or NotSupportedException)
        {
            throw new InvalidOperationException(
                $"Regatta data directory '{fullPath}' (Regatta:DataDir) cannot be created or written: {ex.Message} " +
                "Point Regatta:DataDir at a writable folder.", ex);
        }

        return fullPath;
    }

    private static string LoadSchema()
    {
        using var stream = typeof(RegattaSqliteDatabase).Assembly.GetManifestResourceStream(SchemaResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{SchemaResourceName}' is missing from {typeof(RegattaSqliteDatabase).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
