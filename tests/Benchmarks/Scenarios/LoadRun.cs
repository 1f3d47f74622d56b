namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// The system scenarios in order, on one <see cref="LoadCluster"/>: the registration storm registers the workers
/// that the heartbeat and round-transition scenarios then use, for each size N.
/// </summary>
public sealed class LoadRun(bool quick) : IDisposable
{
    private const int Clients = 4;
    private LoadCluster? _cluster;
    private readonly HashSet<int> _registered = [];

    private int[] Sizes => quick ? [300] : [1_000, 10_000];

    private LoadCluster Cluster => _cluster ??= LoadCluster.StartAsync(Clients).GetAwaiter().GetResult();

    private static string Prefix(int n) => $"w{n}";

    public IEnumerable<BenchmarkResult> Storm() =>
        Sizes.SelectMany(n =>
        {
            var results = RegistrationStormScenario.RunAsync(Cluster, Prefix(n), n).GetAwaiter().GetResult();
            _registered.Add(n);
            return results;
        }).ToList();

    /// <summary>The workers of size N, registered without timing when the storm did not run (a run with --only).</summary>
    private int Registered(int n)
    {
        if (_registered.Add(n)) Cluster.RegisterWorkersAsync(Prefix(n), n, RegistrationStormScenario.InFlight).GetAwaiter().GetResult();
        return n;
    }

    public IEnumerable<BenchmarkResult> Heartbeats() =>
        Sizes.Select(Registered).SelectMany(n => HeartbeatScenario.RunAsync(Cluster, Prefix(n), n,
            duration: TimeSpan.FromSeconds(quick ? 1 : 3),
            interval: TimeSpan.FromSeconds(5), // CoordinatorOptions.HeartbeatInterval's default
            pacedDuration: TimeSpan.FromSeconds(quick ? 2 : 5)).GetAwaiter().GetResult()).ToList();

    /// <summary>Heartbeats of agents through TLS and the gate, against no-op pings on the same TLS clients and the plain TCP heartbeats.</summary>
    /// <remarks>A second silo, TLS on its gateway, runs beside the plain one for this scenario only.</remarks>
    public IEnumerable<BenchmarkResult> TlsHeartbeats()
    {
        foreach (var n in Sizes) Registered(n);
        var tls = LoadCluster.StartAsync(Clients, tls: true).GetAwaiter().GetResult();
        try
        {
            return Sizes.SelectMany(n =>
            {
                var prefix = $"a{n}";
                var credentials = tls.RegisterAgentsAsync(prefix, n, RegistrationStormScenario.InFlight).GetAwaiter().GetResult();
                return TlsHeartbeatScenario.RunAsync(tls, prefix, credentials, Cluster, Prefix(n), n,
                    duration: TimeSpan.FromSeconds(quick ? 1 : 3)).GetAwaiter().GetResult();
            }).ToList();
        }
        finally
        {
            tls.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    public IEnumerable<BenchmarkResult> RoundTransition() =>
        Sizes.Select(Registered).SelectMany(n => RoundTransitionScenario.RunAsync(Cluster, Prefix(n), n, repeats: n > 1_000 ? 2 : 3)
            .GetAwaiter().GetResult()).ToList();

    public void Dispose() => _cluster?.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
