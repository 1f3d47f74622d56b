using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

[assembly: AssemblyFixture(typeof(Regatta.Tests.PostgresServer))]

namespace Regatta.Tests;

/// <summary>Silo processes are heavy on a 2-core box: every class of this project is in this one collection, so one test runs at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Production
{
    public const string Name = "production";
}

/// <summary>
/// A real PostgreSQL server (15 or later) for the whole test assembly: initdb in a temporary folder, started with
/// pg_ctl on a free loopback port, stopped and deleted at the end. PostgreSQL refuses to run as root, so as root
/// (CI) the folder is handed to the <c>postgres</c> user and the tools run through <c>runuser -u postgres --</c>.
/// Each test gets its own database with the schema applied by deploy/postgres/init.sh.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private const string SuperUser = "postgres";
    private static readonly bool IsRoot = Environment.UserName == "root";
    private string _dir = "";
    private string _bin = "";
    private int _databases;

    public int Port { get; private set; }

    /// <summary>Connection string for the maintenance database (to create test databases).</summary>
    public string AdminConnectionString => Connection("postgres");

    public string Connection(string database) =>
        $"Host=127.0.0.1;Port={Port};Username={SuperUser};Database={database};Timeout=5;Pooling=true";

    public async ValueTask InitializeAsync()
    {
        _bin = FindBinaries();
        _dir = Directory.CreateTempSubdirectory("regatta-pg-").FullName;
        if (IsRoot) await Run("chown", ["-R", $"{SuperUser}:{SuperUser}", _dir]);
        Port = FreePort();
        var data = Path.Combine(_dir, "data");
        await RunAsServerUser(Path.Combine(_bin, "initdb"), ["-D", data, "-U", SuperUser, "--auth=trust", "-E", "UTF8", "--no-sync"]);
        // fsync off: the tests kill silos, never the database; durability of PostgreSQL itself is not under test.
        await RunAsServerUser(Path.Combine(_bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(_dir, "server.log"), "-w", "-t", "60", "start",
            "-o", $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"]);
    }

    /// <summary>A fresh database with the Regatta schema applied by deploy/postgres/init.sh; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(bool applySchema = true)
    {
        var name = $"regatta_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}"[..40];
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }
        var connectionString = Connection(name);
        if (applySchema) await ApplySchemaAsync(connectionString);
        return connectionString;
    }

    /// <summary>Runs deploy/postgres/init.sh with the connection string, as an operator would; returns its output.</summary>
    public static async Task<string> ApplySchemaAsync(string connectionString) =>
        await Run("bash", [Path.Combine(Repo.Root, "deploy", "postgres", "init.sh"), connectionString]);

    public async ValueTask DisposeAsync()
    {
        if (_dir.Length == 0) return;
        try
        {
            await RunAsServerUser(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_dir, "data"), "-m", "immediate", "-w", "stop"]);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static string FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("REGATTA_PG_BIN") is { Length: > 0 } configured) return configured;
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(c => c.Version >= 15 && File.Exists(Path.Combine(c.Dir, "initdb")))
                .OrderByDescending(c => c.Version).Select(c => c.Dir).ToList()
            : [];
        return candidates.FirstOrDefault() ?? throw new InvalidOperationException(
            "PostgreSQL 15+ server binaries not found under /usr/lib/postgresql/<version>/bin: install them " +
            "(apt-get install -y postgresql) or set REGATTA_PG_BIN to the folder holding initdb and pg_ctl.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Task<string> RunAsServerUser(string tool, IReadOnlyList<string> args) =>
        IsRoot ? Run("runuser", ["-u", SuperUser, "--", tool, .. args]) : Run(tool, args);

    /// <summary>Runs a tool to its end; a non-zero exit fails with its output.</summary>
    public static async Task<string> Run(string file, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        var output = await stdout + await stderr;
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {output}");
        return output;
    }
}
