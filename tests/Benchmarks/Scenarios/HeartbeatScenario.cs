using System.Diagnostics;
using Regatta.Workers;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Heartbeats of N registered, approved workers sent by the TCP clients. (1) Closed loop, as fast as the clients
/// can with a fixed number of calls in flight: heartbeats/s and latency against the same clients pinging N no-op
/// grains (target ≥ 0.8 of their rate). (2) Open loop at the workers' natural rate, N per heartbeat interval:
/// the latency a worker sees (target p99 ≤ 20 ms), against no-op pings at the same rate.
/// </summary>
public static class HeartbeatScenario
{
    public const int InFlight = 128;

    public static async Task<IReadOnlyList<BenchmarkResult>> RunAsync(LoadCluster cluster, string prefix, int workers, TimeSpan duration,
        TimeSpan interval, TimeSpan pacedDuration)
    {
        // Each simulated worker holds its grain reference, as an agent does (GetGrain per call resolves the interface
        // by reflection on the client, and costs IWorkerGrain three times what it costs INoopGrain).
        var workerRefs = References(cluster, workers, (c, i) => c.GetGrain<IWorkerGrain>($"{prefix}-{i}"));
        var noopRefs = References(cluster, workers, (c, i) => c.GetGrain<INoopGrain>($"{prefix}-{i}"));
        Func<IClusterClient, int, Task> heartbeat = (c, i) => workerRefs[c][i].Heartbeat(new Heartbeat());
        Func<IClusterClient, int, Task> ping = (c, i) => noopRefs[c][i].Ping();
        await cluster.ForEachAsync(workers, InFlight, ping); // activate the no-op grains; the workers are active since they registered
        await cluster.ForEachAsync(workers, InFlight, heartbeat);

        // Alternate ours and baseline, best of three each, so drift on the shared machine hits both alike.
        var baseline = await ClosedLoop(cluster, workers, duration, ping);
        var ours = await ClosedLoop(cluster, workers, duration, heartbeat);
        for (var round = 1; round < 3; round++)
        {
            var b = await ClosedLoop(cluster, workers, duration, ping);
            var o = await ClosedLoop(cluster, workers, duration, heartbeat);
            if (b.Rate > baseline.Rate) baseline = b;
            if (o.Rate > ours.Rate) ours = o;
        }
        var rate = workers / interval.TotalSeconds;
        var pacedBaseline = await OpenLoop(cluster, workers, rate, pacedDuration, ping);
        var pacedOurs = await OpenLoop(cluster, workers, rate, pacedDuration, heartbeat);

        Console.WriteLine($"  heartbeats N={workers}: {ours.Rate:F0}/s p50 {ours.Latency.Percentile(50):F2} ms p99 {ours.Latency.Percentile(99):F2} ms; " +
                          $"no-op {baseline.Rate:F0}/s p50 {baseline.Latency.Percentile(50):F2} ms p99 {baseline.Latency.Percentile(99):F2} ms");
        Console.WriteLine($"  at {rate:F0}/s: heartbeat p50 {pacedOurs.Percentile(50):F2} ms p99 {pacedOurs.Percentile(99):F2} ms; " +
                          $"no-op p50 {pacedBaseline.Percentile(50):F2} ms p99 {pacedBaseline.Percentile(99):F2} ms");
        var p99 = pacedOurs.Percentile(99);
        return
        [
            BenchmarkResult.Compare($"Heartbeats, N={workers} workers, {cluster.Clients.Count} TCP clients, {InFlight} in flight", ours.Rate, baseline.Rate, "heartbeats/s",
                "≥ 0.8 of baseline", r => r >= 0.8,
                $"baseline: no-op grain calls; p50/p99 ours {ours.Latency.Percentile(50):F1}/{ours.Latency.Percentile(99):F1} ms, " +
                $"baseline {baseline.Latency.Percentile(50):F1}/{baseline.Latency.Percentile(99):F1} ms"),
            new BenchmarkResult($"Heartbeat p99 latency at the natural rate, N={workers} ({rate:F0}/s = N per {interval.TotalSeconds:0} s)", p99,
                pacedBaseline.Percentile(99), "ms", p99 / pacedBaseline.Percentile(99), "p99 ≤ 20 ms", p99 <= 20,
                $"p50 {pacedOurs.Percentile(50):F2} ms (no-op {pacedBaseline.Percentile(50):F2} ms); {pacedOurs.Count} heartbeats"),
        ];
    }

    internal static Dictionary<IClusterClient, T[]> References<T>(LoadCluster cluster, int workers, Func<IClusterClient, int, T> reference) =>
        cluster.Clients.ToDictionary(c => c, c => Enumerable.Range(0, workers).Select(i => reference(c, i)).ToArray());

    internal static async Task<(double Rate, Latencies Latency)> ClosedLoop(LoadCluster cluster, int workers, TimeSpan duration,
        Func<IClusterClient, int, Task> call)
    {
        var latency = new Latencies();
        var next = -1;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, InFlight).Select(async lane =>
        {
            var client = cluster.Clients[lane % cluster.Clients.Count];
            while (sw.Elapsed < duration)
            {
                var i = (int)((uint)Interlocked.Increment(ref next) % (uint)workers);
                var start = Stopwatch.GetTimestamp();
                await call(client, i);
                latency.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }));
        return (latency.Count / sw.Elapsed.TotalSeconds, latency);
    }

    /// <summary>Starts calls on schedule whether or not earlier ones have answered, as independent workers do.</summary>
    private static async Task<Latencies> OpenLoop(LoadCluster cluster, int workers, double perSecond, TimeSpan duration,
        Func<IClusterClient, int, Task> call)
    {
        var latency = new Latencies();
        var calls = new List<Task>();
        var total = (int)(perSecond * duration.TotalSeconds);
        var sw = Stopwatch.StartNew();
        for (var k = 0; k < total;)
        {
            var due = Math.Min(total, (int)(sw.Elapsed.TotalSeconds * perSecond) + 1);
            for (; k < due; k++)
            {
                var i = k % workers;
                calls.Add(Timed(cluster.Clients[i % cluster.Clients.Count], i));
            }
            await Task.Delay(1);
        }
        await Task.WhenAll(calls);
        return latency;

        async Task Timed(IClusterClient client, int i)
        {
            var start = Stopwatch.GetTimestamp();
            await call(client, i);
            latency.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }
}
