using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Regatta.Storage;

/// <summary>Wires Regatta's local storage mode (grain state and reminders in one SQLite file) into a silo.</summary>
public static class RegattaSqliteSiloBuilderExtensions
{
    /// <summary>
    /// Creates <paramref name="dataDir"/> and <c>regatta.db</c> in it, applies deploy/sqlite/schema.sql,
    /// sets WAL, and registers the ADO.NET grain storage <paramref name="storageName"/> (also as "Default")
    /// and the ADO.NET reminder table on that file. Throws <see cref="InvalidOperationException"/> at once
    /// when the folder or the file cannot be created or written.
    /// </summary>
    public static ISiloBuilder AddRegattaSqliteStorage(this ISiloBuilder builder, string dataDir, string storageName = StorageNames.Regatta)
        => builder.AddRegattaSqliteStorage(options =>
        {
            options.DataDir = dataDir;
            options.StorageName = storageName;
        });

    /// <summary>As <see cref="AddRegattaSqliteStorage(ISiloBuilder, string, string)"/>, with every setting.</summary>
    public static ISiloBuilder AddRegattaSqliteStorage(this ISiloBuilder builder, Action<RegattaSqliteStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);

        var options = new RegattaSqliteStorageOptions();
        configure(options);

        // Done now, not lazily: a bad data folder stops the host before it starts.
        var database = RegattaSqliteDatabase.Open(options);
        builder.Services.AddSingleton(database);

        var hashPicker = options.IsolateGrainTypes ? new GrainTypeAwareHashPicker() : null;
        void ConfigureGrainStorage(AdoNetGrainStorageOptions o)
        {
            o.Invariant = RegattaSqliteDatabase.Invariant;
            o.ConnectionString = null!; // exactly one of ConnectionString / DataSource
            o.DataSource = database.DataSource;
            if (hashPicker is not null)
                o.HashPicker = hashPicker;
        }

        RegattaGrainStorage.Add(builder, options.StorageName, options.RegisterAsDefault, ConfigureGrainStorage);

        builder.UseAdoNetReminderService(o =>
        {
            o.Invariant = RegattaSqliteDatabase.Invariant;
            o.ConnectionString = null!;
            o.DataSource = database.DataSource;
        });
        builder.Services.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = options.MinimumReminderPeriod);
        return builder;
    }
}
