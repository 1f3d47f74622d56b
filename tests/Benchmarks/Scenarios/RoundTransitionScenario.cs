using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Regatta.Grains;
using Regatta.Grains.Runs;
using Regatta.Grains.Telemetry;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Round transition at N members: an active run in Warmup whose N members are admitted and ready (warmup elapsed)
/// gets one tick, and the RunGrain selects all N, persists the round and sends each member its assignment (one
/// message each; the member's worker grain then opens the job record, records it in the histories and stores it
/// for its agent). Our figure: the coordinator's time, as the run reports it in <c>regatta.round.open.duration</c>
/// (from the change to the last assignment sent and the run list updated). The members' own writes go on after it;
/// the tick as a TCP client sees it (its reply waits behind them on a small machine) and the time until every worker
/// holds its job are noted.
/// Baseline: one grain sending a no-op message to each of N grains and awaiting all answers, timed inside that grain
/// the same way. Target ≤ 2×.
/// <para>
/// Setup does not replay N joins through the grain (each join rewrites the whole member list, O(N²) in all):
/// the run state is built by the same <see cref="RunLifecycle"/> the grain uses and written to the store before
/// the run grain is first activated.
/// </para>
/// </summary>
public static class RoundTransitionScenario
{
    public static async Task<IReadOnlyList<BenchmarkResult>> RunAsync(LoadCluster cluster, string prefix, int members, int repeats)
    {
        var client = cluster.Clients[0];
        var workerIds = Enumerable.Range(0, members).Select(i => $"{prefix}-{i}").ToList();
        await cluster.ForEachAsync(members, 128, (c, i) => c.GetGrain<INoopGrain>(workerIds[i]).Ping());

        var fanout = client.GetGrain<INoopFanoutGrain>($"{prefix}-fanout");
        await fanout.Fanout(prefix, members); // warm-up, untimed
        var baseline = double.MaxValue;
        var baselineSeen = double.MaxValue;
        using var opens = new RoundOpenListener();

        // Warm-up round on a few members (JIT of the run's code paths, codecs), untimed.
        await SeedReadyRunAsync(cluster, client, $"{prefix}-run-warm", workerIds.Take(8).ToList());
        await client.GetGrain<IRunGrain>($"{prefix}-run-warm").Tick();

        var ours = double.MaxValue;
        var seen = double.MaxValue;
        var delivered = double.MaxValue;
        for (var r = 1; r <= repeats; r++)
        {
            var runId = $"{prefix}-run-{r}";
            await SeedReadyRunAsync(cluster, client, runId, workerIds);
            var run = client.GetGrain<IRunGrain>(runId);
            // An active run opens its rounds from its timer: activation (reading the stored run) is not part of it.
            await run.GetView();
            // The baseline right before each tick, so both meet the same background (the previous round's members
            // may still be writing).
            var fanoutWatch = Stopwatch.StartNew();
            var inside = await fanout.Fanout(prefix, members);
            baseline = Math.Min(baseline, inside.TotalMilliseconds);
            baselineSeen = Math.Min(baselineSeen, fanoutWatch.Elapsed.TotalMilliseconds);
            opens.Last = null;
            var sw = Stopwatch.StartNew();
            var view = await run.Tick();
            var tick = sw.Elapsed.TotalMilliseconds;
            var coordinator = opens.Last ?? throw new InvalidOperationException($"run {runId} reported no round opening");
            if (view.State != RunState.RoundTrain || view.Round != 1)
                throw new InvalidOperationException($"run {runId} is {view.State} round {view.Round} after the tick, not RoundTrain round 1");
            await AllHoldAssignmentsAsync(cluster, workerIds, r);
            delivered = Math.Min(delivered, sw.Elapsed.TotalMilliseconds);
            ours = Math.Min(ours, coordinator);
            seen = Math.Min(seen, tick);
            Console.WriteLine($"  round open N={members}: coordinator {coordinator:F1} ms, tick seen by the client {tick:F0} ms, all {members} workers hold their job after {sw.Elapsed.TotalMilliseconds:F0} ms");
        }
        Console.WriteLine($"  round open N={members}: best {ours:F1} ms; no-op fan-out {baseline:F1} ms (client {baselineSeen:F1} ms)");
        return
        [
            BenchmarkResult.Compare($"Round transition, {members} members (select, persist, open {members} jobs, notify)", ours, baseline, "ms",
                "≤ 2× baseline", r => r <= 2,
                $"coordinator time, both timed inside the grain; baseline: one grain awaits {members} no-op calls. Seen by a client: tick {seen:F0} ms vs fan-out {baselineSeen:F1} ms; every worker held its assignment after {delivered:F0} ms; best of {repeats}"),
        ];
    }

    /// <summary>Stores a run in Warmup with every worker admitted, no kit to confirm, and the warmup already over.</summary>
    private static async Task SeedReadyRunAsync(LoadCluster cluster, IClusterClient client, string runId, List<string> workerIds)
    {
        var clock = new FixedClock(DateTimeOffset.UtcNow - TimeSpan.FromMinutes(5));
        var data = new RunData();
        var machine = new RunLifecycle(data, clock);
        machine.Create(runId, new RunSpec
        {
            Name = runId,
            MinClients = workerIds.Count,
            Rounds = 3,
            Warmup = TimeSpan.FromSeconds(1),
            RoundDeadline = TimeSpan.FromHours(1),
            Selection = new SelectionSpec { Strategy = SelectionStrategy.All },
        });
        machine.Start();
        foreach (var id in workerIds) machine.Join(id);
        machine.Tick(); // admits the joiners, enters Warmup; its end (1 s after the clock's time) has long passed in real time
        machine.TakeEffects();
        if (data.State != RunState.Warmup) throw new InvalidOperationException($"seeded run is {data.State}, not Warmup");
        data.GlobalModelHash = new string('0', 64);

        var storage = cluster.SiloServices.GetRequiredKeyedService<IGrainStorage>(StoreNames.Regatta);
        await storage.WriteStateAsync("run", client.GetGrain<IRunGrain>(runId).GetGrainId(), new GrainState<RunData>(data));
    }

    private static async Task AllHoldAssignmentsAsync(LoadCluster cluster, List<string> workerIds, int expected)
    {
        var deadline = Stopwatch.StartNew();
        var waiting = workerIds;
        while (waiting.Count > 0)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException($"{waiting.Count} workers never got their assignment");
            var pending = new bool[waiting.Count];
            await cluster.ForEachAsync(waiting.Count, 128, async (c, i) =>
                pending[i] = (await c.GetGrain<IWorkerGrain>(waiting[i]).Heartbeat(new Heartbeat())).PendingAssignments < expected);
            waiting = waiting.Where((_, i) => pending[i]).ToList();
        }
    }

    /// <summary>The run's own report of its round openings (<c>regatta.round.open.duration</c>), in milliseconds.</summary>
    private sealed class RoundOpenListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        public double? Last { get; set; }

        public RoundOpenListener()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RegattaMetrics.MeterName && instrument.Name == "regatta.round.open.duration")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<double>((_, seconds, _, _) => Last = seconds * 1000);
            _listener.Start();
        }

        public void Dispose() => _listener.Dispose();
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
