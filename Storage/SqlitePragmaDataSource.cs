using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Regatta.Storage;

/// <summary>
/// Hands the Orleans ADO.NET providers pooled SQLite connections with the per-connection settings that a
/// connection string cannot carry (<c>synchronous</c>, <c>busy_timeout</c>), one at a time.
/// </summary>
/// <remarks>
/// SQLite takes one writer at a time, and Microsoft.Data.Sqlite waits for a lock by sleeping on the calling thread
/// (its busy retry and SQLite's busy handler). Under a burst of grain writes (a registration storm, a round opening
/// for thousands of members) those sleeping threads starve the Orleans scheduler. So the providers' operations queue
/// here without blocking a thread (an async gate held while a connection is open) and SQLite never sees a second
/// writer. Each provider operation opens, uses and closes one connection, so the gate is never held twice.
/// </remarks>
internal sealed class SqlitePragmaDataSource : DbDataSource
{
    private readonly string connectionString;
    private readonly string pragmas;
    private static readonly object Applied = new();
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> configured = new();

    public SqlitePragmaDataSource(string connectionString, string pragmas)
    {
        this.connectionString = connectionString;
        this.pragmas = pragmas;
    }

    public override string ConnectionString => connectionString;

    protected override DbConnection CreateDbConnection() => new GatedConnection(this);

    protected override DbConnection OpenDbConnection()
    {
        var connection = new GatedConnection(this);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    protected override async ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = new GatedConnection(this);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>A connection that holds the data source's gate from Open to Close.</summary>
    private sealed class GatedConnection(SqlitePragmaDataSource source) : SqliteConnection(source.connectionString)
    {
        private bool holdsGate;

        public override void Open()
        {
            source.gate.Wait();
            OpenHoldingGate();
        }

        public override async Task OpenAsync(CancellationToken cancellationToken)
        {
            await source.gate.WaitAsync(cancellationToken);
            OpenHoldingGate();
        }

        public override void Close()
        {
            try { base.Close(); }
            finally { ReleaseGate(); }
        }

        protected override void Dispose(bool disposing)
        {
            try { base.Dispose(disposing); }
            finally { ReleaseGate(); }
        }

        private void OpenHoldingGate()
        {
            holdsGate = true;
            try
            {
                base.Open();
                // Pooled connections keep their settings: apply them once per physical connection.
                if (Handle is { } handle && source.configured.TryAdd(handle, Applied))
                {
                    using var command = CreateCommand();
                    command.CommandText = source.pragmas;
                    command.ExecuteNonQuery();
                }
            }
            catch
            {
                base.Close();
                ReleaseGate();
                throw;
            }
        }

        private void ReleaseGate()
        {
            if (!holdsGate) return;
            holdsGate = false;
            source.gate.Release();
        }
    }
}
