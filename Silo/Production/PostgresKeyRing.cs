using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;
using Regatta.Storage;

namespace Regatta.Silo.Production;

/// <summary>
/// The data-protection key ring (what signs the dashboard's sign-in cookies, anti-forgery tokens and Blazor circuit
/// descriptors) in PostgreSQL table regatta_dataprotection_keys, so that every silo of the cluster accepts what any of
/// them issued and a restarted pod keeps everyone signed in. The keys are stored as ASP.NET writes them (not encrypted
/// at rest): whoever can read the database can already change every run, so it is trusted with them.
/// </summary>
public sealed class PostgresKeyRing(RegattaPostgresDatabase database) : IXmlRepository
{
    private const string CreationLock = "SELECT pg_advisory_lock(hashtext('regatta-dataprotection-keys'))";
    private const string CreationUnlock = "SELECT pg_advisory_unlock(hashtext('regatta-dataprotection-keys'))";

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var command = database.DataSource.CreateCommand("SELECT xml FROM regatta_dataprotection_keys ORDER BY id");
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read()) elements.Add(XElement.Parse(reader.GetString(0)));
        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var command = database.DataSource.CreateCommand("INSERT INTO regatta_dataprotection_keys (friendly_name, xml) VALUES ($1, $2)");
        command.Parameters.Add(new NpgsqlParameter { Value = friendlyName });
        command.Parameters.Add(new NpgsqlParameter { Value = element.ToString(SaveOptions.DisableFormatting) });
        command.ExecuteNonQuery();
    }

    /// <summary>Every silo's data protection reads and writes this key ring (production mode).</summary>
    public static void Use(IServiceCollection services)
    {
        services.AddSingleton<PostgresKeyRing>();
        // PostConfigure: the dashboard's own file-system default is a Configure, registered later.
        services.AddOptions<KeyManagementOptions>().PostConfigure<PostgresKeyRing>((o, keys) => o.XmlRepository = keys);
        services.AddHostedService<FirstKey>();
    }

    /// <summary>
    /// Loads the key ring at start under a database lock, before ASP.NET's own start-up does: silos starting together
    /// on an empty table then agree on one first key instead of each making its own.
    /// </summary>
    private sealed class FirstKey(RegattaPostgresDatabase database, IDataProtectionProvider protection) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
            await using (var take = new NpgsqlCommand(CreationLock, connection)) await take.ExecuteNonQueryAsync(cancellationToken);
            try
            {
                protection.CreateProtector("Regatta.KeyRing").Protect([0]);
            }
            finally
            {
                await using var release = new NpgsqlCommand(CreationUnlock, connection);
                await release.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
