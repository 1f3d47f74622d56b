using System.Net;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Regatta.Storage.Tests;

/// <summary>A real single-silo Orleans host (localhost clustering on free ports) on a given data folder.</summary>
public sealed class TestSilo : IAsyncDisposable
{
    private readonly IHost host;

    private TestSilo(IHost host, string name)
    {
        this.host = host;
        Name = name;
    }

    public string Name { get; }

    public IGrainFactory Grains => host.Services.GetRequiredService<IGrainFactory>();

    public RegattaSqliteDatabase Database => host.Services.GetRequiredService<RegattaSqliteDatabase>();

    public static async Task<TestSilo> StartAsync(string dataDir, string name, Action<RegattaSqliteStorageOptions>? configure = null)
    {
        // Free ports can be taken by a parallel test between probing and binding: try a few times.
        for (var attempt = 1; ; attempt++)
        {
            var host = Build(dataDir, name, configure);
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await host.StartAsync(cts.Token);
                return new TestSilo(host, name);
            }
            catch (Exception) when (attempt < 3)
            {
                host.Dispose();
            }
        }
    }

    private static IHost Build(string dataDir, string name, Action<RegattaSqliteStorageOptions>? configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        if (Environment.GetEnvironmentVariable("REGATTA_TEST_LOGS") is "1")
            builder.Logging.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ").SetMinimumLevel(LogLevel.Information);
        builder.Services.AddSingleton(new HostMarker(name));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: FreePort(), gatewayPort: FreePort());
            silo.AddRegattaSqliteStorage(o =>
            {
                o.DataDir = dataDir;
                o.MinimumReminderPeriod = TimeSpan.FromSeconds(1);
                configure?.Invoke(o);
            });
        });
        return builder.Build();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await host.StopAsync(cts.Token);
        }
        finally
        {
            var database = host.Services.GetService<RegattaSqliteDatabase>();
            if (host is IAsyncDisposable asyncDisposable)
                await asyncDisposable.DisposeAsync();
            else
                host.Dispose();
            // Close this file's idle pooled connections so the temp folder can go.
            if (database is not null)
                SqliteConnection.ClearPool(new SqliteConnection(database.ConnectionString));
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A fresh temporary folder per test, removed afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "regatta-storage-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string DataDir => System.IO.Path.Combine(Path, "data");

    public string DatabasePath => System.IO.Path.Combine(DataDir, RegattaSqliteStorageOptions.DatabaseFileName);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
