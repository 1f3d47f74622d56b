using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace Regatta.Tests;

/// <summary>
/// The real Silo app (with its co-hosted dashboard) as a child process on free loopback ports and a temporary data
/// folder, with short timings so runs move in seconds. Disposing it stops the process and deletes the folder.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    public const string AdminPassword = "admin-secret-1";
    public const string ViewerPassword = "viewer-secret-1";

    private readonly Process _process;
    private readonly StreamWriter _log;

    private SiloProcess(Process process, StreamWriter log, int httpPort, int gatewayPort, string dataDir, string logPath)
    {
        _process = process;
        _log = log;
        HttpPort = httpPort;
        GatewayPort = gatewayPort;
        DataDir = dataDir;
        LogPath = logPath;
    }

    public int HttpPort { get; }
    public int GatewayPort { get; }
    public string DataDir { get; }
    public string LogPath { get; }
    public string BaseUrl => $"http://127.0.0.1:{HttpPort}";

    public static async Task<SiloProcess> StartAsync(string logDirectory)
    {
        var silo = typeof(SiloProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SiloAssembly").Value!;
        if (!File.Exists(silo)) throw new FileNotFoundException("the Silo is not built; build tests/Browser.Tests (it builds the Silo first)", silo);
        var dataDir = Directory.CreateTempSubdirectory("regatta-browser-").FullName;
        var (http, siloPort, gateway) = (FreePort(), FreePort(), FreePort());
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDir,
            ArgumentList =
            {
                silo, "--urls", $"http://127.0.0.1:{http}",
                $"--Regatta:DataDir={dataDir}", $"--Regatta:SiloPort={siloPort}", $"--Regatta:GatewayPort={gateway}",
                "--Regatta:TickInterval=00:00:00.200", "--Regatta:HeartbeatInterval=00:00:01", "--Regatta:ReminderPeriod=00:00:05",
                $"--Regatta:Dashboard:AdminPassword={AdminPassword}",
                "--Regatta:Dashboard:ViewerUser=viewer", $"--Regatta:Dashboard:ViewerPassword={ViewerPassword}",
            },
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        Directory.CreateDirectory(logDirectory);
        var logPath = Path.Combine(logDirectory, $"silo-{http}.log");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the silo");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var running = new SiloProcess(process, log, http, gateway, dataDir, logPath);
        try
        {
            await running.WaitHealthyAsync(TimeSpan.FromSeconds(90));
        }
        catch
        {
            await running.DisposeAsync();
            throw;
        }
        return running;
    }

    private async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the silo exited with {_process.ExitCode}; see {LogPath}");
            try
            {
                if ((await http.GetAsync($"{BaseUrl}/healthz")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the silo did not become healthy in {timeout}; see {LogPath}");
            await Task.Delay(200);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        lock (_log) _log.Dispose();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
