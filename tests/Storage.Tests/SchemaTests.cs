using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace Regatta.Storage.Tests;

/// <summary>The schema and its queries at the SQL level, with the parameters the Orleans providers bind.</summary>
public sealed class SchemaTests : IDisposable
{
    private readonly TempDir dir = new();

    private readonly List<string> pooledConnectionStrings = [];

    public void Dispose()
    {
        foreach (var connectionString in pooledConnectionStrings)
            SqliteConnection.ClearPool(new SqliteConnection(connectionString));
        dir.Dispose();
    }

    private RegattaSqliteDatabase Open() => Open(new RegattaSqliteStorageOptions { DataDir = dir.DataDir });

    private RegattaSqliteDatabase Open(RegattaSqliteStorageOptions options)
    {
        var database = RegattaSqliteDatabase.Open(options);
        pooledConnectionStrings.Add(database.ConnectionString);
        return database;
    }

    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection($"Data Source={dir.DatabasePath};Pooling=False");
        connection.Open();
        return connection;
    }

    private static List<string> Rows(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
            rows.Add(string.Join(" | ", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "NULL" : reader.GetValue(i).ToString())));
        return rows;
    }

    private static string Query(SqliteConnection connection, string key)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT QueryText FROM OrleansQuery WHERE QueryKey = $key";
        command.Parameters.AddWithValue("$key", key);
        return (string)command.ExecuteScalar()!;
    }

    [Fact]
    public void Embedded_schema_is_deploy_sqlite_schema_sql()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "deploy", "sqlite", "schema.sql")))
            root = root.Parent;
        Assert.NotNull(root);
        Assert.Equal(File.ReadAllText(Path.Combine(root.FullName, "deploy", "sqlite", "schema.sql")), RegattaSqliteDatabase.SchemaScript);
    }

    [Fact]
    public void Open_creates_the_folder_and_file_in_wal_mode_with_every_query()
    {
        var database = Open();
        Assert.True(File.Exists(dir.DatabasePath));
        Assert.Equal(dir.DatabasePath, database.DatabasePath);
        Assert.Equal("wal", database.JournalMode);

        using var connection = Connect();
        Assert.Equal(["wal"], Rows(connection, "PRAGMA journal_mode"));
        var keys = Rows(connection, "SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey");
        Assert.Equal(RegattaSqliteDatabase.RequiredQueryKeys.Order(StringComparer.Ordinal), keys);
        Assert.Equal(11, keys.Count);
        foreach (var key in keys) // no query may open (and so possibly leave open) a transaction
            Assert.DoesNotMatch(new Regex(@"\b(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|TRANSACTION)\b", RegexOptions.IgnoreCase), Query(connection, key));
    }

    [Fact]
    public void Applying_the_schema_again_changes_nothing()
    {
        Open();
        using var connection = Connect();
        using (var insert = connection.CreateCommand())
        {
            insert.CommandText = """
                INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
                VALUES (-5, 0, 0, 7, 'run', 'r1', 'svc', x'0102', '2025-01-01', 3);
                INSERT INTO OrleansRemindersTable (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
                VALUES ('svc', 'run/r1', 'tick', '2025-01-01 00:00:00', 60000, -9, 2);
                """;
            insert.ExecuteNonQuery();
        }

        const string schemaSql = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name";
        const string queriesSql = "SELECT QueryKey, QueryText FROM OrleansQuery ORDER BY QueryKey";
        const string dataSql = "SELECT * FROM OrleansStorage UNION ALL SELECT ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version, NULL, NULL, NULL FROM OrleansRemindersTable";
        var schemaBefore = Rows(connection, schemaSql);
        var queriesBefore = Rows(connection, queriesSql);
        var dataBefore = Rows(connection, dataSql);

        Open(); // what every silo start does
        RegattaSqliteDatabase.ApplySchema(connection); // and once more on an open connection

        Assert.Equal(schemaBefore, Rows(connection, schemaSql));
        Assert.Equal(queriesBefore, Rows(connection, queriesSql));
        Assert.Equal(11, queriesBefore.Count);
        Assert.Equal(dataBefore, Rows(connection, dataSql));
        Assert.Equal(2, dataBefore.Count);
    }

    [Fact]
    public void Provider_connections_get_the_busy_timeout_and_synchronous_setting()
    {
        var database = Open(new RegattaSqliteStorageOptions
        {
            DataDir = dir.DataDir,
            BusyTimeout = TimeSpan.FromMilliseconds(1500),
        });
        Assert.Contains("Default Timeout=2", database.ConnectionString);
        using var connection = (SqliteConnection)database.DataSource.OpenConnection();
        Assert.Equal(["1500"], Rows(connection, "PRAGMA busy_timeout"));
        Assert.Equal(["1"], Rows(connection, "PRAGMA synchronous")); // NORMAL
        Assert.Equal(["wal"], Rows(connection, "PRAGMA journal_mode"));
    }

    [Fact]
    public void Unwritable_data_dir_fails_fast_with_a_clear_message()
    {
        var blocker = Path.Combine(dir.Path, "not-a-folder");
        File.WriteAllText(blocker, "a file where the data folder should be");
        var dataDir = Path.Combine(blocker, "data");

        var error = Assert.Throws<InvalidOperationException>(() => RegattaSqliteDatabase.Open(new RegattaSqliteStorageOptions { DataDir = dataDir }));
        Assert.Contains(dataDir, error.Message);
        Assert.Contains("cannot be created or written", error.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_database_fails_fast_with_a_clear_message()
    {
        Directory.CreateDirectory(dir.DataDir);
        File.WriteAllText(dir.DatabasePath, new string('x', 4096));
        var error = Assert.Throws<InvalidOperationException>(() => Open());
        Assert.Contains(dir.DatabasePath, error.Message);
    }

    // ---- grain state queries, bound as AdoNetGrainStorage binds them ----

    private static int? Write(SqliteConnection connection, int? version, byte[] payload, string? extension = null)
        => Run(connection, "WriteToStorageKey", version, payload, extension);

    private static int? Run(SqliteConnection connection, string key, int? version, byte[]? payload = null, string? extension = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Query(connection, key);
        command.Parameters.AddWithValue("GrainIdHash", -123456789);
        command.Parameters.AddWithValue("GrainIdN0", 0L);
        command.Parameters.AddWithValue("GrainIdN1", 0L);
        command.Parameters.AddWithValue("GrainTypeHash", 42);
        command.Parameters.AddWithValue("GrainTypeString", "run");
        command.Parameters.AddWithValue("GrainIdExtensionString", (object?)extension ?? DBNull.Value);
        command.Parameters.AddWithValue("ServiceId", "svc");
        command.Parameters.AddWithValue("GrainStateVersion", (object?)version ?? DBNull.Value);
        if (payload is not null)
            command.Parameters.AddWithValue("PayloadBinary", payload);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
            return null;
        var value = reader.GetInt32(0);
        Assert.False(reader.Read()); // never more than one row
        return value;
    }

    private static (string? Payload, int Version)? Read(SqliteConnection connection, string? extension = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Query(connection, "ReadFromStorageKey");
        command.Parameters.AddWithValue("GrainIdHash", -123456789);
        command.Parameters.AddWithValue("GrainIdN0", 0L);
        command.Parameters.AddWithValue("GrainIdN1", 0L);
        command.Parameters.AddWithValue("GrainTypeHash", 42);
        command.Parameters.AddWithValue("GrainTypeString", "run");
        command.Parameters.AddWithValue("GrainIdExtensionString", (object?)extension ?? DBNull.Value);
        command.Parameters.AddWithValue("ServiceId", "svc");
        using var reader = command.ExecuteReader();
        if (!reader.Read())
            return null;
        var payload = reader.IsDBNull(reader.GetOrdinal("PayloadBinary")) ? null : Convert.ToHexString((byte[])reader["PayloadBinary"]);
        return (payload, Convert.ToInt32(reader["Version"]));
    }

    [Fact]
    public void Write_read_clear_delete_follow_the_version_contract()
    {
        Open();
        using var connection = Connect();

        Assert.Null(Read(connection));
        Assert.Null(Write(connection, version: 3, [9])); // a version for a row that does not exist: refused
        Assert.Equal(1, Write(connection, version: null, [1]));  // first insert
        Assert.Null(Write(connection, version: null, [2]));      // second "first insert": conflict
        Assert.Equal(2, Write(connection, version: 1, [3]));
        Assert.Null(Write(connection, version: 1, [4]));         // stale
        Assert.Equal(("03", 2), Read(connection)!.Value);

        Assert.Null(Run(connection, "ClearStorageKey", version: 1)); // stale clear
        Assert.Equal(3, Run(connection, "ClearStorageKey", version: 2));
        Assert.Equal(((string?)null, 3), Read(connection)!.Value);
        Assert.Equal(4, Write(connection, version: 3, [5]));

        Assert.Null(Run(connection, "DeleteStorageKey", version: 3)); // stale delete
        Assert.Equal(5, Run(connection, "DeleteStorageKey", version: 4));
        Assert.Null(Read(connection));
        Assert.Equal(1, Write(connection, version: null, [6]));  // starts over after a delete

        // The key extension is part of the key; NULL and "" are the same key.
        Assert.Null(Read(connection, "ext"));
        Assert.Equal(1, Write(connection, version: null, [7], "ext"));
        Assert.Equal(("07", 1), Read(connection, "ext")!.Value);
        Assert.Equal(("06", 1), Read(connection, "")!.Value);
        Assert.Equal(["2"], Rows(connection, "SELECT COUNT(*) FROM OrleansStorage"));
    }

    // ---- reminder queries, bound as AdoNetReminderTable binds them ----

    private static SqliteCommand ReminderCommand(SqliteConnection connection, string key, string grainId = "probe/g1", string name = "tick")
    {
        var command = connection.CreateCommand();
        command.CommandText = Query(connection, key);
        command.Parameters.AddWithValue("ServiceId", "svc");
        command.Parameters.AddWithValue("GrainId", grainId);
        command.Parameters.AddWithValue("ReminderName", name);
        return command;
    }

    private static int Upsert(SqliteConnection connection, string grainId, int hash, DateTime start, int periodMs)
    {
        using var command = ReminderCommand(connection, "UpsertReminderRowKey", grainId);
        command.Parameters.AddWithValue("StartTime", start);
        command.Parameters.AddWithValue("Period", periodMs);
        command.Parameters.AddWithValue("GrainHash", hash);
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        return Convert.ToInt32(reader["Version"]);
    }

    private static bool Delete(SqliteConnection connection, string grainId, int version)
    {
        using var command = ReminderCommand(connection, "DeleteReminderRowKey", grainId);
        command.Parameters.AddWithValue("Version", version);
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(1, reader.FieldCount);
        var result = Convert.ToBoolean(reader.GetValue(0));
        Assert.False(reader.Read());
        return result;
    }

    private static List<string> Range(SqliteConnection connection, int begin, int end)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Query(connection, begin < end ? "ReadRangeRows1Key" : "ReadRangeRows2Key");
        command.Parameters.AddWithValue("ServiceId", "svc");
        command.Parameters.AddWithValue("BeginHash", begin);
        command.Parameters.AddWithValue("EndHash", end);
        using var reader = command.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
            ids.Add(reader.GetString(reader.GetOrdinal("GrainId")));
        return ids.Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public void Reminder_queries_follow_the_contract()
    {
        Open();
        using var connection = Connect();
        var start = new DateTime(2025, 6, 7, 8, 9, 10, 123, DateTimeKind.Utc);

        Assert.Equal(0, Upsert(connection, "probe/neg", int.MinValue + 10, start, 60_000));
        Assert.Equal(1, Upsert(connection, "probe/neg", int.MinValue + 10, start.AddMinutes(1), 120_000));
        Assert.Equal(0, Upsert(connection, "probe/mid", -5, start, 60_000));
        Assert.Equal(0, Upsert(connection, "probe/pos", int.MaxValue - 10, start, 60_000));

        using (var command = ReminderCommand(connection, "ReadReminderRowKey", "probe/neg"))
        using (var reader = command.ExecuteReader())
        {
            Assert.True(reader.Read());
            Assert.Equal("probe/neg", reader.GetString(reader.GetOrdinal("GrainId")));
            Assert.Equal("tick", reader.GetString(reader.GetOrdinal("ReminderName")));
            Assert.Equal(start.AddMinutes(1), DateTime.SpecifyKind(reader.GetDateTime(reader.GetOrdinal("StartTime")), DateTimeKind.Utc));
            Assert.Equal(120_000L, reader.GetInt64(reader.GetOrdinal("Period")));
            Assert.Equal(1, Convert.ToInt32(reader["Version"]));
        }

        using (var command = ReminderCommand(connection, "ReadReminderRowsKey", "probe/mid"))
        using (var reader = command.ExecuteReader())
        {
            Assert.True(reader.Read());
            Assert.False(reader.Read());
        }

        // Signed hashes: (begin, end] when begin < end, the wrap-around otherwise.
        Assert.Equal(["probe/mid", "probe/neg"], Range(connection, int.MinValue, 0));
        Assert.Equal(["probe/mid"], Range(connection, -100, -5));
        Assert.Equal(["probe/pos"], Range(connection, 0, int.MaxValue));
        Assert.Equal(["probe/neg", "probe/pos"], Range(connection, 100, int.MinValue + 10));

        Assert.False(Delete(connection, "probe/neg", version: 0)); // stale version
        Assert.True(Delete(connection, "probe/neg", version: 1));
        Assert.False(Delete(connection, "probe/neg", version: 1)); // already gone

        using (var command = connection.CreateCommand())
        {
            command.CommandText = Query(connection, "DeleteReminderRowsKey");
            command.Parameters.AddWithValue("ServiceId", "svc");
            command.ExecuteNonQuery();
        }
        Assert.Equal(["0"], Rows(connection, "SELECT COUNT(*) FROM OrleansRemindersTable"));
    }
}
