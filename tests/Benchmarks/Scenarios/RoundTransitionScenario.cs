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
/// Round transition at N members, as a member's agent sees it: an active run in Warmup whose N members are admitted and
/// ready (warmup elapsed) gets one tick; the RunGrain selects all N, persists the round and sends each member its
/// assignment; the member's worker grain opens the job record and holds the job for its agent, whose long-poll
/// (<c>NextAssignment</c>, waiting before the tick) returns it. Our figure: from the client sending the tick until the
/// last of the N simulated agents holds its job.
/// Baseline, seen the same way by the same clients: one grain makes N awaited calls through references it built once,
/// each receiving grain stores the job (one durable write, what opening a job needs) and wakes its agent's long-poll.
/// Target ≤ 2×. Reported besides: the coordinator's own time inside the run grain (<c>regatta.round.open.duration</c>)
/// against one grain awaiting N no-op calls, timed inside that grain. The two sides alternate, best of each.
/// <para>
/// Setup does not replay N joins through the grain (each join rewrites the whole member list, O(N²) in all):
/// the run state is built by the same <see cref="RunLifecycle"/> the grain uses and written to the store before
/// the run grain is first activated.
/// </para>
/// </summary>
public static class RoundTransitionScenario
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(25);

    public static async Task<IReadOnlyList<BenchmarkResult>> RunAsync(LoadCluster cluster, string prefix, int members, int repeats)
    {
        var client = cluster.Clients[0];
        var workerIds = Enumerable.Range(0, members).Select(i => $"{prefix}-{i}").ToList();
        // Each simulated agent holds its references on its own client, as an agent does.
        var workers = workerIds.Select((id, i) => cluster.Clients[i % cluster.Clients.Count].GetGrain<IWorkerGrain>(id)).ToArray();
        var mailboxes = workerIds.Select((id, i) => cluster.Clients[i % cluster.Clients.Count].GetGrain<IMailboxGrain>($"{prefix}-mail-{i}")).ToArray();
        var fanout = client.GetGrain<IFanoutGrain>($"{prefix}-fanout");
        await cluster.ForEachAsync(members, 128, (c, i) => c.GetGrain<INoopGrain>(workerIds[i]).Ping());
        await fanout.Ping(prefix, members); // builds its references; untimed
        using var opens = new RoundOpenListener();

        // Warm-up, untimed: both paths once on a few members (JIT of the run's code paths, codecs, the fan-out's references).
        await OursAsync(cluster, client, $"{prefix}-run-warm", workers[..8], workerIds[..8], opens);
        await fanout.Hold($"{prefix}-mail", members, "warm"); // also activates every mailbox, as the workers are active
        var held = "warm";
        await AgentsDrain(mailboxes, held);

        double ours = double.MaxValue, baseline = double.MaxValue, coordinator = double.MaxValue, noop = double.MaxValue;
        double oursFanout = double.MaxValue, baselineInside = double.MaxValue;
        for (var r = 1; r <= repeats; r++)
        {
            // Alternated, right after one another, so both meet the same background (the previous side's writes may go on).
            var job = $"job-{r}";
            var (b, inside) = await BaselineAsync(fanout, prefix, mailboxes, held, job);
            held = job;
            var o = await OursAsync(cluster, client, $"{prefix}-run-{r}", workers, workerIds, opens);
            var n = await fanout.Ping(prefix, members);
            baseline = Math.Min(baseline, b);
            baselineInside = Math.Min(baselineInside, inside);
            ours = Math.Min(ours, o.Delivered);
            oursFanout = Math.Min(oursFanout, o.Tick);
            coordinator = Math.Min(coordinator, o.Coordinator);
            noop = Math.Min(noop, n.TotalMilliseconds);
            Console.WriteLine($"  round open N={members}: every agent holds its job {o.Delivered:F0} ms after the tick (tick answered {o.Tick:F0} ms, coordinator {o.Coordinator:F1} ms); " +
                              $"baseline {b:F0} ms (fan-out {inside:F0} ms in grain); no-op fan-out {n.TotalMilliseconds:F1} ms");
        }
        return
        [
            BenchmarkResult.Compare($"Round transition, {members} members: tick until every member's agent holds its job", ours, baseline, "ms",
                "≤ 2× baseline", r => r <= 2,
                $"baseline: one grain awaits {members} calls through cached references, each callee writes the job once and wakes its agent's long-poll ({baselineInside:F0} ms in that grain); " +
                $"both seen by {cluster.Clients.Count} TCP clients' {members} long-polls; the tick itself answered after {oursFanout:F0} ms; best of {repeats}"),
            BenchmarkResult.Report($"Round transition, {members} members: coordinator time in the run grain (select, persist, send {members} assignments) vs a no-op fan-out", coordinator, noop, "ms",
                $"both timed inside the grain: regatta.round.open.duration vs one grain awaiting {members} no-op calls through cached references"),
        ];
    }

    /// <summary>Every agent long-polls, then the run is ticked; returns when each agent holds its job of this run.</summary>
    private static async Task<(double Delivered, double Tick, double Coordinator)> OursAsync(LoadCluster cluster, IClusterClient client, string runId,
        IWorkerGrain[] workers, List<string> workerIds, RoundOpenListener opens)
    {
        await SeedReadyRunAsync(cluster, client, runId, workerIds);
        var run = client.GetGrain<IRunGrain>(runId);
        // An active run opens its rounds from its timer: activation (reading the stored run) is not part of it.
        await run.GetView();
        var sw = new Stopwatch();
        var received = new long[workers.Length];
        var agents = workers.Select((w, i) => Agent(w, i)).ToArray();
        // The polls are waiting in their grains: a call sent after each from the same client has been answered.
        await Task.WhenAll(workers.Select(w => w.AsReference<IWorkerOperatorGrain>().GetView()));
        opens.Last = null;
        sw.Start();
        var view = await run.Tick();
        var tick = sw.Elapsed.TotalMilliseconds;
        await Task.WhenAll(agents);
        var coordinator = opens.Last ?? throw new InvalidOperationException($"run {runId} reported no round opening");
        if (view.State != RunState.RoundTrain || view.Round != 1)
            throw new InvalidOperationException($"run {runId} is {view.State} round {view.Round} after the tick, not RoundTrain round 1");
        return (received.Max() / (double)Stopwatch.Frequency * 1000, tick, coordinator);

        async Task Agent(IWorkerGrain worker, int i)
        {
            while (true)
            {
                var assignment = await worker.NextAssignment(Poll);
                if (assignment?.RunId != runId) continue; // a timeout, or a job of a run an earlier warm-up left
                received[i] = sw.ElapsedTicks;
                return;
            }
        }
    }

    /// <summary>Every agent long-polls its mailbox, then one grain hands each its job; returns when each agent holds it.</summary>
    private static async Task<(double Delivered, double Inside)> BaselineAsync(IFanoutGrain fanout, string prefix, IMailboxGrain[] mailboxes,
        string held, string job)
    {
        var sw = new Stopwatch();
        var received = new long[mailboxes.Length];
        var agents = mailboxes.Select((m, i) => Agent(m, i)).ToArray();
        await Task.WhenAll(mailboxes.Select(m => m.Ready()));
        sw.Start();
        var inside = await fanout.Hold($"{prefix}-mail", mailboxes.Length, job);
        await Task.WhenAll(agents);
        return (received.Max() / (double)Stopwatch.Frequency * 1000, inside.TotalMilliseconds);

        async Task Agent(IMailboxGrain mailbox, int i)
        {
            while (await mailbox.Next(held, Poll) != job) { }
            received[i] = sw.ElapsedTicks;
        }
    }

    private static Task AgentsDrain(IMailboxGrain[] mailboxes, string job) =>
        Task.WhenAll(mailboxes.Select(async m => { while (await m.Next("", Poll) != job) { } }));

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
