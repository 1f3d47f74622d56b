using Regatta.Storage;

namespace Regatta.Tests;

/// <summary>One fresh database on the test PostgreSQL, opened twice: the two openings stand for two silos.</summary>
public abstract class TwoSiloDatabase(PostgresServer postgres) : IAsyncLifetime
{
    protected RegattaPostgresDatabase SiloA { get; private set; } = null!;
    protected RegattaPostgresDatabase SiloB { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        SiloA = RegattaPostgresDatabase.Open(connectionString);
        SiloB = RegattaPostgresDatabase.Open(connectionString);
    }

    public async ValueTask DisposeAsync()
    {
        await SiloA.DisposeAsync();
        await SiloB.DisposeAsync();
    }
}
