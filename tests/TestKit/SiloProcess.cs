using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Regatta.Tests;

/// <summary>
/// One silo as an operating-system process (<c>dotnet Regatta.Silo.dll</c>, the real app with its co-hosted dashboard,
/// configured through the environment like a container), so a test can SIGKILL it. Its output goes to a log file that
/// failures quote. Used by Production.Tests (multi-silo, PostgreSQL) and Browser.Tests (the dashboard in Chromium).
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _gate = new();
    private bool _closed;

    private SiloProcess(string name, SiloPorts ports, Process process, string logPath, StreamWriter log)
    {
        Name = name;
        Ports = ports;
        _process = process;
        LogPath = logPath;
        _log = log;
    }

    public string Name { get; }
    public SiloPorts Ports { get; }
    public string LogPath { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public Uri Http => new($"http://127.0.0.1:{Ports.Http}");
    public string BaseUrl => $"http://127.0.0.1:{Ports.Http}";

    /// <summary>Starts the process without waiting for it to be ready.</summary>
    /// <param name="workDir">The working directory (no appsettings.json there: the environment is the whole configuration).</param>
    /// <param name="logDir">Where <c>{name}.log</c> goes; <paramref name="workDir"/> unless given (e.g. a CI artifacts folder).</param>
    public static SiloProcess Launch(string name, SiloPorts ports, IReadOnlyDictionary<string, string> environment, string workDir, string? logDir = null)
    {
        Directory.CreateDirectory(workDir);
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workDir, // no appsettings.json here: the environment is the whole configuration
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Repo.SiloDll);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("Regatta__", StringComparison.Ordinal) ||
                     k.StartsWith("ConnectionStrings__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        foreach (var (key, value) in environment) start.Environment[key] = value;

        Directory.CreateDirectory(logDir ?? workDir);
        var logPath = Path.Combine(logDir ?? workDir, $"{name}.log");
        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), Encoding.UTF8) { AutoFlush = true };
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var silo = new SiloProcess(name, ports, process, logPath, log);
        process.OutputDataReceived += (_, e) => silo.Write(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Write(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>Starts the silo and waits until /healthz answers 200 (its cluster has an active silo).</summary>
    public static async Task<SiloProcess> StartAsync(string name, SiloPorts ports, IReadOnlyDictionary<string, string> environment, string workDir,
        string? logDir = null)
    {
        var silo = Launch(name, ports, environment, workDir, logDir);
        try
        {
            await silo.WaitHealthyAsync(TimeSpan.FromSeconds(90));
            return silo;
        }
        catch
        {
            await silo.DisposeAsync();
            throw;
        }
    }

    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before it was healthy:\n{Tail()}");
            try
            {
                using var response = await http.GetAsync(new Uri(Http, "/healthz"));
                if (response.IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Name} was not healthy within {timeout.TotalSeconds} s:\n{Tail()}");
            await Task.Delay(200);
        }
    }

    /// <summary>Waits for the process to end by itself (a silo that refuses to start).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        _process.WaitForExit(); // drains the redirected output into the log
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster, as when a machine dies.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        Write($"---- test: SIGKILL {Name} (pid {Pid}) ----");
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGTERM: the host shuts Orleans down gracefully (the silo leaves the cluster and deactivates its grains).</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        Write($"---- test: SIGTERM {Name} (pid {Pid}) ----");
        if (kill(Pid, SigTerm) != 0) throw new InvalidOperationException($"kill({Pid}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(45));
        }
        catch (TimeoutException)
        {
            await KillAsync();
            throw new TimeoutException($"{Name} did not stop within 45 s of SIGTERM:\n{Tail()}");
        }
    }

    /// <summary>The end of the silo's log, for failure messages.</summary>
    public string Tail(int lines = 60)
    {
        lock (_gate)
        {
            try
            {
                using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                var all = reader.ReadToEnd().Split('\n');
                return string.Join('\n', all.TakeLast(lines));
            }
            catch (IOException e)
            {
                return $"(log {LogPath} unreadable: {e.Message})";
            }
        }
    }

    public string Log()
    {
        lock (_gate)
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    private void Write(string? line)
    {
        if (line is null) return;
        lock (_gate)
            if (!_closed) _log.WriteLine(line);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException) { } // never started or already reaped
        _process.Dispose();
        lock (_gate)
        {
            _closed = true;
            _log.Dispose();
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}

/// <summary>The three ports of one silo: silo-to-silo, gateway (clients), HTTP.</summary>
public sealed record SiloPorts(int Silo, int Gateway, int Http)
{
    public static SiloPorts Free()
    {
        var listeners = Enumerable.Range(0, 3).Select(_ => new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0)).ToList();
        try
        {
            foreach (var l in listeners) l.Start();
            var ports = listeners.Select(l => ((System.Net.IPEndPoint)l.LocalEndpoint).Port).ToList();
            return new SiloPorts(ports[0], ports[1], ports[2]);
        }
        finally
        {
            foreach (var l in listeners) l.Stop();
        }
    }
}
