using Regatta.Workers;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Heartbeats as untrusted agents send them: N workers registered through the TLS gateway as agents register (no
/// credential the first time; the worker grain issues one), approved by the cluster's own caller, then every heartbeat
/// carries its worker's id and credential through TLS and the silo's <c>AgentGate</c> (credential check, cached per
/// silo). Closed loop, same clients, lanes and in-flight count as <see cref="HeartbeatScenario"/>; three figures
/// measured alternately, best of three each:
/// (1) against no-op pings through the same TLS connections (target ≥ 0.8); the ping carries the same worker id and
/// credential plus the cluster key, so the gate passes it on the cluster key's constant-time compare;
/// (2) against the plain TCP heartbeats of trusted clients (the cluster key, no TLS): report only, what TLS and the
/// credential cost together.
/// </summary>
public static class TlsHeartbeatScenario
{
    public static async Task<IReadOnlyList<BenchmarkResult>> RunAsync(LoadCluster tls, string tlsPrefix, string[] credentials,
        LoadCluster tcp, string tcpPrefix, int workers, TimeSpan duration)
    {
        var inFlight = HeartbeatScenario.InFlight;
        var agents = Enumerable.Range(0, workers).Select(i => CallAs.Agent($"{tlsPrefix}-{i}", credentials[i])).ToArray();
        // The same bytes as the heartbeat's identity, plus the cluster key that lets the gate pass a no-op grain.
        var pingers = agents.Select(a => a with { ClusterKey = CallAs.Cluster.ClusterKey }).ToArray();
        var tlsWorkers = HeartbeatScenario.References(tls, workers, (c, i) => c.GetGrain<IWorkerGrain>($"{tlsPrefix}-{i}"));
        var tlsNoops = HeartbeatScenario.References(tls, workers, (c, i) => c.GetGrain<INoopGrain>($"{tlsPrefix}-{i}"));
        var tcpWorkers = HeartbeatScenario.References(tcp, workers, (c, i) => c.GetGrain<IWorkerGrain>($"{tcpPrefix}-{i}"));
        Func<IClusterClient, int, Task> heartbeat = (c, i) =>
        {
            CallAs.Current = agents[i];
            return tlsWorkers[c][i].Heartbeat(new Heartbeat());
        };
        Func<IClusterClient, int, Task> ping = (c, i) =>
        {
            CallAs.Current = pingers[i];
            return tlsNoops[c][i].Ping();
        };
        Func<IClusterClient, int, Task> tcpHeartbeat = (c, i) => tcpWorkers[c][i].Heartbeat(new Heartbeat());
        // The gate is really on the heartbeat's path: without the credential (or with another worker's) it refuses, and a
        // no-op ping without the cluster key is refused too.
        var client = tls.Clients[0];
        await Refused("unauthenticated", () => tlsWorkers[client][0].Heartbeat(new Heartbeat()), CallAs.Agent(agents[0].Worker!, null));
        if (workers > 1)
            await Refused("bad_credential", () => tlsWorkers[client][0].Heartbeat(new Heartbeat()), agents[1] with { Worker = agents[0].Worker });
        await Refused("forbidden", () => tlsNoops[client][0].Ping(), agents[0]);
        // Activate the no-op grains; warm every path (and the gate's credential cache) once.
        await tls.ForEachAsync(workers, inFlight, ping);
        await tls.ForEachAsync(workers, inFlight, heartbeat);
        await tcp.ForEachAsync(workers, inFlight, tcpHeartbeat);

        // Alternate the three, best of three each, so drift on the shared machine hits them alike; the order rotates
        // each round so that none is always the one that follows the other silo's run.
        var sides = new (LoadCluster Cluster, Func<IClusterClient, int, Task> Call)[] { (tls, ping), (tls, heartbeat), (tcp, tcpHeartbeat) };
        var best = new (double Rate, Latencies Latency)[sides.Length];
        for (var round = 0; round < 3; round++)
            for (var k = 0; k < sides.Length; k++)
            {
                var side = (round + k) % sides.Length;
                var m = await HeartbeatScenario.ClosedLoop(sides[side].Cluster, workers, duration, sides[side].Call);
                if (m.Rate > best[side].Rate) best[side] = m;
            }
        var (pings, ours, plain) = (best[0], best[1], best[2]);

        static async Task Refused(string code, Func<Task> call, CallAs who)
        {
            CallAs.Current = who;
            try
            {
                await call();
            }
            catch (RegattaException e) when (e.Code == code)
            {
                return;
            }
            finally
            {
                CallAs.Current = null;
            }
            throw new InvalidOperationException($"the agent gate let through a call it must refuse with '{code}'");
        }

        static string Lat((double Rate, Latencies Latency) m) => $"{m.Latency.Percentile(50):F1}/{m.Latency.Percentile(99):F1} ms";
        Console.WriteLine($"  TLS heartbeats N={workers}: {ours.Rate:F0}/s p50/p99 {Lat(ours)}; TLS no-op {pings.Rate:F0}/s {Lat(pings)}; " +
                          $"TCP heartbeats {plain.Rate:F0}/s {Lat(plain)}");
        var shape = $"N={workers} workers, {tls.Clients.Count} clients, {inFlight} in flight";
        return
        [
            BenchmarkResult.Compare($"Heartbeats through TLS + agent gate vs no-op pings through the same TLS gateway, {shape}",
                ours.Rate, pings.Rate, "heartbeats/s", "≥ 0.8 of baseline", r => r >= 0.8,
                $"both: TLS, the same connections, worker id + credential in the request context; heartbeat: the gate checks the " +
                $"credential (SHA-256, cached per silo) then the worker grain; ping: also the cluster key, which the gate checks " +
                $"(SHA-256, constant-time compare), then a no-op grain; p50/p99 ours {Lat(ours)}, baseline {Lat(pings)}"),
            BenchmarkResult.Report($"Heartbeats through TLS + agent gate vs plain TCP heartbeats of trusted clients, {shape}",
                ours.Rate, plain.Rate, "heartbeats/s",
                $"baseline: a second in-process silo without TLS, clients with the cluster key (gate passes on it); " +
                $"p50/p99 ours {Lat(ours)}, baseline {Lat(plain)}"),
        ];
    }
}
