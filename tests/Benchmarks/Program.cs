using System.Diagnostics;
using Regatta.Benchmarks;
using Regatta.Benchmarks.Scenarios;

// Usage: dotnet run -c Release --project tests/Benchmarks -- [--quick] [--no-cluster] [--out DIR] [--only TEXT] [--simulation-clients N,M]
// --no-cluster skips the scenarios that start an in-process Orleans silo; --only runs just the scenarios whose
// title contains TEXT (case-insensitive), e.g. --only Robust.
// Full mode writes docs/benchmarks.{md,json}; --quick (the CI smoke: small sizes, asserts nothing about speed)
// writes TestResults/benchmarks-quick.{md,json} so a smoke run never overwrites the published figures.
var quick = args.Contains("--quick");
var outIndex = Array.IndexOf(args, "--out");
var onlyIndex = Array.IndexOf(args, "--only");
var simulationIndex = Array.IndexOf(args, "--simulation-clients");
if ((outIndex >= 0 && outIndex + 1 >= args.Length) || (onlyIndex >= 0 && onlyIndex + 1 >= args.Length) || (simulationIndex >= 0 && simulationIndex + 1 >= args.Length))
{
    Console.Error.WriteLine("--out needs a directory, --only a scenario title (or part of one), --simulation-clients counts (100,1000)");
    return 2;
}
var only = onlyIndex >= 0 ? args[onlyIndex + 1] : null;
// How many virtual clients the simulation rows run.
int[] simulationClients = quick ? [100] : [100, 1000];
if (simulationIndex >= 0)
{
    var counts = args[simulationIndex + 1].Split(',');
    if (counts.Length == 0 || !counts.All(c => int.TryParse(c, out var n) && n is >= 2 and <= 10_000))
    {
        Console.Error.WriteLine($"--simulation-clients: '{args[simulationIndex + 1]}' is not a comma-separated list of counts in [2, 10000]");
        return 2;
    }
    simulationClients = counts.Select(int.Parse).ToArray();
}
bool Wanted(string title) => only is null || title.Contains(only, StringComparison.OrdinalIgnoreCase);
var unknown = args.Where((a, i) => a is not "--quick" and not "--out" and not "--no-cluster" and not "--only" and not "--simulation-clients"
    && !(outIndex >= 0 && i == outIndex + 1) && !(onlyIndex >= 0 && i == onlyIndex + 1) && !(simulationIndex >= 0 && i == simulationIndex + 1)).ToList();
if (unknown.Count > 0)
{
    Console.Error.WriteLine($"unknown argument(s): {string.Join(' ', unknown)}; usage: [--quick] [--no-cluster] [--out DIR] [--only TEXT] [--simulation-clients N,M]");
    return 2;
}

#if DEBUG
Console.Error.WriteLine("warning: Debug build; figures are meaningless. Run with -c Release.");
#endif

var root = RepoRoot();
// A partial run (--only) never overwrites the published figures.
var outDir = outIndex >= 0 ? Path.GetFullPath(args[outIndex + 1]) : Path.Combine(root, quick || only is not null ? "TestResults" : "docs");
var name = (quick ? "benchmarks-quick" : "benchmarks") + (only is null ? "" : "-only");

const int M = 1 << 20;
var repeats = quick ? 2 : 3;
// FedAvg sizes: every update is its own buffer, so K × P × 4 bytes of inputs are held at once (K = 64 × P = 16M is
// 4 GiB); K = 64 runs at P = 4M (1 GiB) and once at P = 16M, P = 64M only at K = 8 (2 GiB).
(int P, int[] Ks)[] fedAvg = quick ? [(1 * M, [8, 64])] : [(4 * M, [8, 64]), (16 * M, [8, 64]), (64 * M, [8])];
var breakdownP = quick ? [1 * M] : new[] { 16 * M, 64 * M };
var memoryP = quick ? 1 * M : 16 * M;
var robust = quick ? (K: 8, P: 1 * M) : (K: 8, P: 16 * M);

var results = new List<BenchmarkResult>();
var total = Stopwatch.StartNew();
var machineLoad = new MachineLoad.Probe();
var numpy = new NumpyFedAvg();
Console.WriteLine("warming up (tiered JIT)");
Warmup.Run(TimeSpan.FromSeconds(quick ? 1 : 2));

var crashed = 0;
void Scenario(string title, Func<IEnumerable<BenchmarkResult>> run)
{
    if (!Wanted(title)) return;
    Console.WriteLine($"[{total.Elapsed:mm\\:ss}] {title}");
    try
    {
        results.AddRange(run());
    }
    catch (Exception e)
    {
        // Keep going: one broken scenario must not hide the others' figures. The exit code reports it.
        crashed++;
        Console.Error.WriteLine($"  {title} crashed: {e}");
        results.Add(new BenchmarkResult(title, null, null, "", null, "runs", false, $"crashed: {e.GetType().Name}: {e.Message.Split('\n')[0]}"));
    }
    GC.Collect();
}

foreach (var (p, ks) in fedAvg)
{
    // One set of K distinct update buffers per P, shared by every K (the first k of them); made on first use.
    var updates = new Lazy<Updates>(() => new Updates(ks.Max(), p));
    Scenario($"FedAvg throughput P={FedAvgScenario.Label(p)}", () => ks.SelectMany(k => FedAvgScenario.Run(updates.Value.WithCount(k), repeats, numpy)).ToList());
    if (breakdownP.Contains(p))
        Scenario($"FedAvg time breakdown P={FedAvgScenario.Label(p)}", () => FedAvgBreakdown.Run(updates.Value.WithCount(ks.Min()), repeats).ToList());
    if (p == memoryP) Scenario("FedAvg round memory", () => MemoryScenario.Run(updates.Value, ks).ToList());
}
Scenario("Agent training overhead", () => TrainingOverheadScenario.Run(root, quick ? 100 : 400, repeats).ToList());
Scenario("Robust aggregation", () => RobustScenario.Run(robust.K, robust.P, repeats).ToList());
Scenario("Secure aggregation", () => SecureAggregationScenario.Run([10, 100], quick ? 10_000 : 100_000, quick ? 1 : repeats).ToList());
Scenario("Inference sessions", () => InferenceSessionScenario.Run(quick, repeats).ToList());
if (!args.Contains("--no-cluster"))
{
    Scenario("Idle worker memory", () => IdleWorkerScenario.RunAsync(quick ? 300 : 1000).GetAwaiter().GetResult());
    using var load = new LoadRun(quick); // one silo + TCP clients for the system scenarios; the storm registers the workers the others use
    Scenario("Registration storm", load.Storm);
    Scenario("Heartbeats over TCP clients", load.Heartbeats);
    Scenario("Agent heartbeats through TLS and the gate", load.TlsHeartbeats);
    Scenario("Round transition", load.RoundTransition);
    Scenario("Weight transfer", () => WeightTransferScenario.RunAsync(quick ? 20 : 100, quick ? 1 : 3).GetAwaiter().GetResult());
    Scenario("Simulated federation", () => SimulationScenario.RunAsync(simulationClients, quick ? 2 : 4).GetAwaiter().GetResult());
}

total.Stop();
var loadSeen = machineLoad.Finish();
Report.Write(outDir, name, results, MachineInfo.Current(), loadSeen, quick, total.Elapsed);
Console.WriteLine($"  while it ran, {loadSeen}");
Console.WriteLine($"[{total.Elapsed:mm\\:ss}] wrote {Path.Combine(outDir, name)}.md and .json; {results.Count(r => r.Met == true)}/{results.Count(r => r.Met is not null)} targets met{(crashed > 0 ? $", {crashed} scenario(s) crashed" : "")}");
return crashed > 0 ? 1 : 0;

static string RepoRoot()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Orleans.sln"))) return dir.FullName;
    return Directory.GetCurrentDirectory();
}
