using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Regatta.Storage;

/// <summary>
/// Hands the Orleans ADO.NET providers pooled SQLite connections with the per-connection settings that a
/// connection string cannot carry (<c>synchronous</c>, <c>busy_timeout</c>).
/// </summary>
internal sealed class SqlitePragmaDataSource : DbDataSource
{
    private readonly string connectionString;
    private readonly string pragmas;

    public SqlitePragmaDataSource(string connectionString, string pragmas)
    {
        this.connectionString = connectionString;
        this.pragmas = pragmas;
    }

    public override string ConnectionString => connectionString;

    protected override DbConnection CreateDbConnection() => new SqliteConnection(connectionString);

    protected override DbConnection OpenDbConnection()
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            ApplyPragmas(connection);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    // Microsoft.Data.Sqlite opens synchronously anyway; avoid the base class' Task wrapping overhead.
    protected override ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(OpenDbConnection());
    }

    private void ApplyPragmas(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = pragmas;
        command.ExecuteNonQuery();
    }
}
