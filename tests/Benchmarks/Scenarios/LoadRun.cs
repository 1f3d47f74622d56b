namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// The system scenarios in order, on one <see cref="LoadCluster"/>: the registration storm registers the workers
/// that the heartbeat and round-transition scenarios then use, for each size N.
/// </summary>
public sealed class LoadRun(bool quick) : IDisposable
{
    private const int Clients = 4;
    private LoadCluster? _cluster;

    private int[] Sizes => quick ? [300] : [1_000, 10_000];

    private LoadCluster Cluster => _cluster ??= LoadCluster.StartAsync(Clients).GetAwaiter().GetResult();

    private static string Prefix(int n) => $"w{n}";

    public IEnumerable<BenchmarkResult> Storm() =>
        Sizes.SelectMany(n => RegistrationStormScenario.RunAsync(Cluster, Prefix(n), n).GetAwaiter().GetResult()).ToList();

    public IEnumerable<BenchmarkResult> Heartbeats() =>
        Sizes.SelectMany(n => HeartbeatScenario.RunAsync(Cluster, Prefix(n), n,
            duration: TimeSpan.FromSeconds(quick ? 1 : 3),
            interval: TimeSpan.FromSeconds(5), // CoordinatorOptions.HeartbeatInterval's default
            pacedDuration: TimeSpan.FromSeconds(quick ? 2 : 5)).GetAwaiter().GetResult()).ToList();

    public IEnumerable<BenchmarkResult> RoundTransition() =>
        Sizes.SelectMany(n => RoundTransitionScenario.RunAsync(Cluster, Prefix(n), n, repeats: quick || n > 1_000 ? 1 : 2)
            .GetAwaiter().GetResult()).ToList();

    public void Dispose() => _cluster?.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
