using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Regatta.Storage;

/// <summary>
/// Wires Regatta's production mode into a silo: membership (clustering), grain state and reminders in one
/// PostgreSQL database through the Orleans ADO.NET providers, so several silos form one cluster.
/// </summary>
public static class RegattaPostgresSiloBuilderExtensions
{
    /// <summary>
    /// Checks now that the server answers and the schema of deploy/postgres/init.sh is there (a clear
    /// <see cref="InvalidOperationException"/> otherwise, so a misconfigured silo stops before it joins anything),
    /// then registers ADO.NET clustering, the grain storage <paramref name="storageName"/> (also as "Default") and
    /// the ADO.NET reminder table. The checked <see cref="RegattaPostgresDatabase"/> is registered as a singleton.
    /// </summary>
    public static ISiloBuilder AddRegattaPostgresStorage(this ISiloBuilder builder, string? connectionString, string storageName = StorageNames.Regatta,
        TimeSpan? minimumReminderPeriod = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var database = RegattaPostgresDatabase.Open(connectionString);
        builder.Services.AddSingleton(database);

        // Same salting as the SQLite mode: two grain types with one key never share a row (dotnet/orleans#8746).
        var hashPicker = new GrainTypeAwareHashPicker();
        void ConfigureGrainStorage(AdoNetGrainStorageOptions o)
        {
            o.Invariant = RegattaPostgresDatabase.Invariant;
            o.ConnectionString = null!; // exactly one of ConnectionString / DataSource
            o.DataSource = database.DataSource;
            o.HashPicker = hashPicker;
        }

        builder.UseAdoNetClustering(o =>
        {
            o.Invariant = RegattaPostgresDatabase.Invariant;
            o.ConnectionString = null!;
            o.DataSource = database.DataSource;
        });
        RegattaGrainStorage.Add(builder, storageName, alsoAsDefault: true, ConfigureGrainStorage);
        builder.UseAdoNetReminderService(o =>
        {
            o.Invariant = RegattaPostgresDatabase.Invariant;
            o.ConnectionString = null!;
            o.DataSource = database.DataSource;
        });
        builder.Services.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = minimumReminderPeriod ?? TimeSpan.FromSeconds(1));
        return builder;
    }
}
