using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Regatta.Silo;
using Regatta.Silo.Blobs;
using Regatta.WorkerAgent;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Moving a model's weights between an agent and the cluster. The silo is the real one (its Kestrel with /blobs, Orleans on
/// SQLite with the disk blob store, in a temporary folder); the agent is a real Orleans client (AgentHost) with the
/// agent's <see cref="ModelTransfer"/>, connected over loopback TCP like a separate process. Both paths are timed end to
/// end as the agent calls them: upload = the agent's hash + send + the silo's hash check and store (the agent streams a
/// staged upload while it hashes, then seals it under its hash); download = fetch into a cold cache + the agent's hash
/// check, made while the bytes arrive. Each upload changes one byte, so it is a new
/// blob. Baseline: the same bytes pushed through one raw loopback TCP socket between the same two hosts' threads, from
/// one array into another. Best of N; target: ≥ 0.5 of raw TCP.
/// </summary>
public static class WeightTransferScenario
{
    private const string AdminKey = "bench-admin-key-0123456789";

    public static async Task<IReadOnlyList<BenchmarkResult>> RunAsync(int megabytes, int repeats)
    {
        var dataDir = Directory.CreateTempSubdirectory("regatta-bench-blobs-").FullName;
        try
        {
            var bytes = new byte[megabytes * 1_000_000];
            new Random(11).NextBytes(bytes);
            var raw = RawTcp(bytes, repeats);
            // The ceiling of any hash-checked path: an upload hashes the bytes twice in a row (agent for the key, silo to check).
            var sha = MBps(bytes.Length, Measure.BestOf(repeats, () => System.Security.Cryptography.SHA256.HashData(bytes)));
            Console.WriteLine($"  raw TCP {MBps(bytes.Length, raw):F0} MB/s; SHA-256 {sha:F0} MB/s on one core");

            await using var silo = await StartSiloAsync(dataDir);
            var gateway = silo.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()["Regatta:GatewayPort"];
            using var agent = AgentHost.Build(new AgentOptions
            {
                Coordinator = $"127.0.0.1:{gateway}", Name = "bench", WorkerId = "bench", CacheDir = Path.Combine(dataDir, "agent"),
                // The gateway is TLS only: pin the silo's self-signed certificate, as a local agent does.
                SiloCertSha256 = File.ReadAllText(Path.Combine(dataDir, Regatta.Silo.Security.SiloTls.LocalFingerprintFile)),
            }, l => l.SetMinimumLevel(LogLevel.Error),
                // Measures the transfer paths, not the gate: the client carries the cluster key (no assignment needed).
                c => c.AddOutgoingGrainCallFilter(new Regatta.Grains.Security.ClusterCallStamp(Regatta.Grains.Security.ClusterKey.DerivedFrom(AdminKey))));
            await agent.StartAsync();
            var client = agent.Services.GetRequiredService<IClusterClient>();

            var results = new List<BenchmarkResult>
            {
                // What bounds every hash-checked path here: each byte is hashed on both sides, and both share this machine's cores.
                BenchmarkResult.Report($"SHA-256 of {megabytes} MB on one core vs raw loopback TCP (the ceiling of a path that hashes every byte)",
                    sha, MBps(bytes.Length, raw), "MB/s",
                    $"System.Security.Cryptography.SHA256 (OpenSSL); the CPU's SHA extensions (sha_ni): {(ShaExtensions() ? "present" : "absent")}"),
            };
            foreach (var (path, options) in new[] { ("HTTP /blobs", new ModelTransferOptions()), ("grain chunks", new ModelTransferOptions { UseHttp = false }) })
            {
                var (up, down, http, upCpu, downCpu) = await TimeAsync(client, options, bytes, Path.Combine(dataDir, path.Replace(' ', '-').Replace("/", "")), repeats);
                if (options.UseHttp && http == 0) throw new InvalidOperationException("the HTTP path fell back to grain calls: the silo advertised no blob URL");
                Console.WriteLine($"  {path}: upload {MBps(bytes.Length, up):F0} MB/s ({upCpu.TotalMilliseconds:F0} ms CPU), " +
                                  $"download {MBps(bytes.Length, down):F0} MB/s ({downCpu.TotalMilliseconds:F0} ms CPU)");
                results.Add(Row($"Weight upload {megabytes} MB, agent → silo, {path}", MBps(bytes.Length, up), MBps(bytes.Length, raw), sha, upCpu));
                results.Add(Row($"Weight download {megabytes} MB, silo → agent, {path}", MBps(bytes.Length, down), MBps(bytes.Length, raw), sha, downCpu));
            }
            await agent.StopAsync();
            await silo.StopAsync();
            return results;
        }
        finally
        {
            try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { }
        }
    }

    // The CPU time says what bounds the wall time on a small box: wall ≥ CPU / cores, whatever overlaps.
    private static BenchmarkResult Row(string scenario, double ours, double raw, double sha, TimeSpan cpu) =>
        BenchmarkResult.Compare(scenario, ours, raw, "MB/s", "≥ 0.5 of raw loopback TCP", r => r >= 0.5,
            $"end to end as the agent calls it (SHA-256 of every byte on both sides, silo's disk store; downloads: agent's cache file); " +
            $"{cpu.TotalMilliseconds:F0} ms CPU per transfer, both hosts; SHA-256 alone: {sha:F0} MB/s per core");

    /// <summary>Best wall times, and the least CPU time (both hosts: they share this process) one transfer took.</summary>
    private static async Task<(TimeSpan Up, TimeSpan Down, int Http, TimeSpan UpCpu, TimeSpan DownCpu)> TimeAsync(IClusterClient client, ModelTransferOptions options, byte[] bytes, string cache, int repeats)
    {
        var up = TimeSpan.MaxValue;
        var down = TimeSpan.MaxValue;
        var (upCpu, downCpu) = (TimeSpan.MaxValue, TimeSpan.MaxValue);
        var http = 0;
        for (var i = 0; i <= repeats; i++) // the first round warms up (JIT, connections, page cache) and is not counted
        {
            bytes[0] = (byte)(bytes[0] + 1); // a new blob each time: the cluster would skip one it has
            var uploader = new ModelTransfer(client, cache + $"-up{i}", NullLogger.Instance, options);
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            var hash = await uploader.UploadAsync(bytes, null, CancellationToken.None);
            var upTime = watch.Elapsed;
            var cpu1 = Process.GetCurrentProcess().TotalProcessorTime;
            var downloader = new ModelTransfer(client, cache + $"-down{i}", NullLogger.Instance, options);
            watch.Restart();
            var fetched = await downloader.FetchAsync(hash, null, CancellationToken.None);
            var downTime = watch.Elapsed;
            var downCpuNow = Process.GetCurrentProcess().TotalProcessorTime - cpu1;
            if (fetched.Length != bytes.Length) throw new InvalidDataException("download returned the wrong length");
            http += uploader.HttpTransfers + downloader.HttpTransfers;
            Directory.Delete(uploader.CacheDir, recursive: true);
            Directory.Delete(downloader.CacheDir, recursive: true);
            if (i == 0) continue;
            up = upTime < up ? upTime : up;
            down = downTime < down ? downTime : down;
            upCpu = cpu1 - cpu0 < upCpu ? cpu1 - cpu0 : upCpu;
            downCpu = downCpuNow < downCpu ? downCpuNow : downCpu;
        }
        return (up, down, http, upCpu, downCpu);
    }

    /// <summary>The bytes from one array to another through a loopback TCP connection, 1 MiB writes, the receiver in its own thread.</summary>
    private static TimeSpan RawTcp(byte[] bytes, int repeats)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var target = new byte[bytes.Length];
        return Measure.BestOf(repeats, () =>
        {
            using var sender = new TcpClient();
            sender.Connect((IPEndPoint)listener.LocalEndpoint);
            using var receiver = listener.AcceptTcpClient();
            var receive = Task.Run(() =>
            {
                using var stream = receiver.GetStream();
                stream.ReadExactly(target);
            });
            using (var stream = sender.GetStream())
                for (var at = 0; at < bytes.Length; at += 1 << 20)
                    stream.Write(bytes, at, Math.Min(1 << 20, bytes.Length - at));
            receive.Wait();
        });
    }

    private static async Task<WebApplication> StartSiloAsync(string dataDir)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration["Regatta:DataDir"] = dataDir;
        builder.Configuration["Regatta:SiloPort"] = FreePort().ToString();
        builder.Configuration["Regatta:GatewayPort"] = FreePort().ToString();
        builder.Configuration["Regatta:AdminApiKey"] = AdminKey;
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Error).AddConsole();
        builder.AddRegattaSilo();
        builder.AddRegattaApi();
        builder.AddRegattaBlobs();
        var app = builder.Build();
        app.MapRegattaBlobs();
        await app.StartAsync();
        return app;
    }

    private static bool ShaExtensions()
    {
        try { return File.ReadAllText("/proc/cpuinfo").Contains(" sha_ni", StringComparison.Ordinal); }
        catch (IOException) { return false; }
    }

    private static double MBps(long bytes, TimeSpan elapsed) => bytes / elapsed.TotalSeconds / 1e6;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
