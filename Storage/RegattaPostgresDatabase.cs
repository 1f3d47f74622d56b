using Npgsql;

namespace Regatta.Storage;

/// <summary>
/// The production PostgreSQL database: checks at startup that the server answers and that deploy/postgres/init.sh
/// has been applied, and hands out the one <see cref="NpgsqlDataSource"/> (connection pool) the Orleans ADO.NET
/// providers and the blob store share.
/// </summary>
public sealed class RegattaPostgresDatabase : IAsyncDisposable
{
    /// <summary>The ADO.NET invariant the Orleans providers use for PostgreSQL (served by Npgsql).</summary>
    public const string Invariant = "Npgsql";

    /// <summary>The script an operator runs to create or update the schema.</summary>
    public const string InitScript = "deploy/postgres/init.sh";

    /// <summary>Every query key the providers look up: clustering, grain persistence, reminders.</summary>
    public static IReadOnlyList<string> RequiredQueryKeys { get; } =
    [
        "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey",
        "MembershipReadRowKey", "MembershipReadAllKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey",
        "CleanupDefunctSiloEntriesKey",
        .. RegattaSqliteDatabase.RequiredQueryKeys,
    ];

    /// <summary>Regatta's own tables next to Orleans': content-addressed blobs and the dashboard's key ring, shared by every silo.</summary>
    public static IReadOnlyList<string> RequiredTables { get; } =
        ["orleansstorage", "orleansreminderstable", "orleansmembershiptable", "regatta_blob_info", "regatta_blobs", "regatta_dataprotection_keys"];

    private RegattaPostgresDatabase(string connectionString, NpgsqlDataSource dataSource, string where)
    {
        ConnectionString = connectionString;
        DataSource = dataSource;
        Where = where;
    }

    public string ConnectionString { get; }

    /// <summary>Pooled connections for the providers and the blob store.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>host:port/database, for messages (never the password).</summary>
    public string Where { get; }

    /// <summary>
    /// Connects, then checks that the schema is there. Throws <see cref="InvalidOperationException"/> with a message
    /// that says what is wrong and what to do: a malformed connection string, an unreachable server or failed login,
    /// or a database without (or with an incomplete) Regatta schema.
    /// </summary>
    public static RegattaPostgresDatabase Open(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new InvalidOperationException(
                "Regatta:Storage is Postgres but ConnectionStrings:Regatta (env ConnectionStrings__Regatta) is not set. " +
                "Give it an Npgsql connection string, e.g. \"Host=db;Port=5432;Username=regatta;Password=...;Database=regatta\".");
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new InvalidOperationException($"ConnectionStrings:Regatta is not a valid Npgsql connection string: {e.Message}", e);
        }
        if (string.IsNullOrWhiteSpace(builder.Host))
            throw new InvalidOperationException("ConnectionStrings:Regatta names no Host.");
        var where = $"{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";

        var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        try
        {
            Check(dataSource, where);
        }
        catch
        {
            dataSource.Dispose();
            throw;
        }
        return new RegattaPostgresDatabase(builder.ConnectionString, dataSource, where);
    }

    private static void Check(NpgsqlDataSource dataSource, string where)
    {
        NpgsqlConnection connection;
        try
        {
            connection = dataSource.OpenConnection();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException(
                $"Regatta cannot reach PostgreSQL at {where}: {e.Message}. Check ConnectionStrings:Regatta " +
                "(host, port, user, password) and that the server is running and accepts connections from this host.", e);
        }
        using (connection)
        {
            var tables = new HashSet<string>(StringComparer.Ordinal);
            using (var command = new NpgsqlCommand(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ANY (current_schemas(false))", connection))
            using (var reader = command.ExecuteReader())
                while (reader.Read()) tables.Add(reader.GetString(0).ToLowerInvariant());
            if (!tables.Contains("orleansquery"))
                throw SchemaMissing(where, "it has no OrleansQuery table");
            var missingTables = RequiredTables.Where(t => !tables.Contains(t)).ToList();
            if (missingTables.Count > 0)
                throw SchemaMissing(where, $"tables missing: {string.Join(", ", missingTables)}");

            var keys = new HashSet<string>(StringComparer.Ordinal);
            using (var command = new NpgsqlCommand("SELECT QueryKey FROM OrleansQuery", connection))
            using (var reader = command.ExecuteReader())
                while (reader.Read()) keys.Add(reader.GetString(0));
            var missingKeys = RequiredQueryKeys.Where(k => !keys.Contains(k)).ToList();
            if (missingKeys.Count > 0)
                throw SchemaMissing(where, $"OrleansQuery lacks {string.Join(", ", missingKeys)}");
        }
    }

    // The connection string is never echoed: it may hold the password.
    private static InvalidOperationException SchemaMissing(string where, string detail) =>
        new InvalidOperationException(
            $"The PostgreSQL database {where} does not have the Regatta schema ({detail}). " +
            $"Apply it once with: {InitScript} \"<the same connection string as ConnectionStrings:Regatta>\" (idempotent, safe to run again).");

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
