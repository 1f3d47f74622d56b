using Npgsql;
using Regatta.Storage;

namespace Regatta.Tests;

/// <summary>deploy/postgres/init.sh and what a silo does when the database is not ready for it.</summary>
[Collection(Production.Name)]
public sealed class SchemaAndStartupTests(PostgresServer postgres)
{
    [Fact]
    public async Task Init_script_applies_the_whole_schema_and_running_it_again_changes_nothing()
    {
        var connectionString = await postgres.CreateDatabaseAsync(applySchema: false);
        Assert.Throws<InvalidOperationException>(() => RegattaPostgresDatabase.Open(connectionString));

        var output = await PostgresServer.ApplySchemaAsync(connectionString);
        var first = await SnapshotAsync(connectionString);
        await PostgresServer.ApplySchemaAsync(connectionString);
        var second = await SnapshotAsync(connectionString);

        Assert.Contains("schema applied", output);
        Assert.Equal(first, second);
        Assert.All(RegattaPostgresDatabase.RequiredQueryKeys, key => Assert.Contains(first, line => line.StartsWith($"query {key} ", StringComparison.Ordinal)));
        Assert.All(RegattaPostgresDatabase.RequiredTables, table => Assert.Contains($"table {table}", first));
        await using var database = RegattaPostgresDatabase.Open(connectionString); // the silo's own startup check passes
        Assert.Contains("127.0.0.1", database.Where);
    }

    [Fact]
    public async Task Init_script_refuses_a_connection_string_without_host_and_an_unreachable_server()
    {
        var noHost = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresServer.ApplySchemaAsync("Username=x;Database=y"));
        Assert.Contains("names no Host", noHost.Message);
        var unreachable = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            PostgresServer.Run("env", ["REGATTA_DB_WAIT_SECONDS=1", "bash", Path.Combine(Repo.Root, "deploy/postgres/init.sh"), "Host=127.0.0.1;Port=1;Username=x"]));
        Assert.Contains("does not accept connections", unreachable.Message);
    }

    public static TheoryData<string, string> Refusals => new()
    {
        { "schema missing", "deploy/postgres/init.sh" },
        { "server unreachable", "cannot reach PostgreSQL at 127.0.0.1:1/" },
        { "no admin key", "needs Regatta:AdminApiKey" },
        { "short admin key", "at least 16 characters; it has 5" },
        { "bad port", "Regatta:GatewayPort must be a port" },
        { "no certificate", "set Regatta:Tls:CertificatePath (PFX) and Regatta:Tls:CertificatePassword, or Regatta:Tls:CertificatePemPath and Regatta:Tls:KeyPemPath" },
        { "wrong certificate password", "Regatta:Tls:CertificatePath" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task A_silo_in_production_mode_refuses_to_start_with_a_message_that_says_what_to_fix(string problem, string message)
    {
        var connectionString = await postgres.CreateDatabaseAsync(applySchema: false);
        var ports = SiloPorts.Free();
        var workDir = Directory.CreateTempSubdirectory("regatta-refusal-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["Regatta__Storage"] = "Postgres",
            ["ConnectionStrings__Regatta"] = connectionString,
            ["Regatta__AdminApiKey"] = ProductionCluster.AdminKey,
            ["Regatta__Dashboard__AdminPassword"] = "production-tests-dashboard",
            ["Regatta__AdvertisedIp"] = "127.0.0.1",
            ["Regatta__SiloPort"] = ports.Silo.ToString(),
            ["Regatta__GatewayPort"] = ports.Gateway.ToString(),
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ports.Http}",
            ["Regatta__Tls__CertificatePath"] = Path.Combine(workDir, "silo-cert.pfx"),
            ["Regatta__Tls__CertificatePassword"] = ProductionCluster.CertificatePassword,
        };
        TestCertificates.WritePfx(environment["Regatta__Tls__CertificatePath"], ProductionCluster.CertificatePassword);
        switch (problem)
        {
            case "server unreachable": environment["ConnectionStrings__Regatta"] = "Host=127.0.0.1;Port=1;Username=regatta;Password=secret-password;Database=regatta"; break;
            case "no admin key": environment.Remove("Regatta__AdminApiKey"); break;
            case "short admin key": environment["Regatta__AdminApiKey"] = "short"; break;
            case "bad port": environment["Regatta__GatewayPort"] = "70000"; break;
            case "no certificate": environment.Remove("Regatta__Tls__CertificatePath"); environment.Remove("Regatta__Tls__CertificatePassword"); break;
            case "wrong certificate password": environment["Regatta__Tls__CertificatePassword"] = "secret-password"; break;
        }
        try
        {
            await using var silo = SiloProcess.Launch("refused", ports, environment, workDir);
            var exitCode = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));

            var log = silo.Log();
            Assert.True(exitCode != 0, $"the silo exited with 0:\n{log}");
            Assert.Contains(message, log);
            Assert.DoesNotContain("secret-password", log); // the message names the server, never the password
            Assert.Empty(await TablesAsync(connectionString)); // a refused start creates nothing
        }
        finally
        {
            Directory.Delete(workDir, recursive: true);
        }
    }

    private static async Task<List<string>> TablesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var tables = new List<string>();
        while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        return tables;
    }

    /// <summary>Tables with their columns, indexes, functions and the named queries: what a second run must leave as it was.</summary>
    private static async Task<List<string>> SnapshotAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var lines = new List<string>();
        foreach (var sql in new[]
                 {
                     "SELECT 'table ' || table_name || ' ' || column_name || ' ' || data_type FROM information_schema.columns WHERE table_schema = 'public'",
                     "SELECT 'table ' || table_name FROM information_schema.tables WHERE table_schema = 'public'",
                     "SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'",
                     "SELECT 'function ' || p.proname || ' ' || md5(p.prosrc) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'",
                     "SELECT 'query ' || QueryKey || ' ' || md5(QueryText) FROM OrleansQuery",
                     "SELECT 'rows ' || count(*) FROM OrleansQuery",
                 })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) lines.Add(reader.GetString(0));
        }
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }
}
