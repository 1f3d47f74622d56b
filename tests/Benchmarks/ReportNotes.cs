using System.Globalization;
using Regatta.Grains.Aggregation;

namespace Regatta.Benchmarks;

/// <summary>
/// The notes under the table: prose that holds whatever a run measures, and the lines whose figures come from this
/// run's rows (so a note can never contradict its table).
/// </summary>
public static class ReportNotes
{
    public const string Static = """
        - Updates: every one of a round's K updates is its own P-float buffer with its own values (no two share memory;
          tests/Grains.Tests checks the harness), so each byte a round folds is read from memory. GB/s = K × P × 4 bytes /
          round time. K = 64 runs at P = 4M and 16M, P = 64M only at K = 8: every update is held at once.
        - FedAvg round = `RoundAggregator.Create(FedAvg, P)` → `AddRange` of the K updates → `Finish` → `RoundAggregator.Recycle`
          (the caller hands the applied result back so the next round reuses it, as CandidateBuilder does). Kernel: one read of
          each update — per vector of coordinates the fold loads the sum and each update once, multiplies-adds in registers,
          checks the result is finite and writes sum + Σ wⱼ·Δⱼ once into a scratch buffer (non-temporal stores: no read for
          ownership), up to `FedAvgAccumulator.MaxBatch` updates per pass over the sum, 1 MiB chunks spread over the cores;
          buffers swap only when every value is finite, so a NaN/∞ update is refused with the sum bit-for-bit unchanged. A
          round's first pass that is also its call's last (K ≤ MaxBatch in one `AddRange`) writes the mean beside the sum, and
          `Finish` hands it over; otherwise `Finish` divides in place. The `FedAvg step` rows split it.
        - Sequential read = `TensorPrimitives.Sum` over the same K buffers, single-threaded: the cost of touching each byte once.
        - Flower numpy = `flwr.server.strategy.aggregate.aggregate` reproduced in `python3 -c` with Debian's python3-numpy, on K
          distinct arrays; missing when numpy is not installed (the runner never installs it), and left out where Flower's
          inputs and weighted copies would not fit beside ours (K = 64 at P = 16M).
        - Memory = bytes allocated between Create and Finish with one `Add` per update and the scratch pool emptied first
          (GC.GetTotalAllocatedBytes, precise); nothing is freed mid-round, so it bounds the peak held: the running sum (handed
          out as the result) + the scratch the fold writes into = 2 × model, plus a few KB of small objects.
        - Training overhead = `LocalTrainer.Train` as JobRunner calls it vs a bare forward/loss/backward/step loop, demo-mlp's
          model and partition 0, one torch thread, in samples per CPU-second of this process (the two alternate; wall time of
          sub-millisecond steps on a shared box moves with the neighbours, CPU time much less).
        - Robust strategies buffer every update (O(K·P)); their GB/s includes the copy in each `Add`.
        - Idle worker = an in-process silo (localhost clustering, SQLite in a temp folder) registers and approves N workers after
          a warm-up batch; managed heap after a full compacting GC, delta / N, including the worker's registry row and Orleans'
          catalog entry. Baseline: N benchmark grains, each activated and holding one stored record, measured the same way.
        - System scenarios (registration storm, heartbeats, round transition): set-up, profiles and changes in
          docs/benchmarks-load.md; weight transfer and what limits it in docs/blobs.md "Speed".
        - Round transition: N simulated agents long-poll before the tick; the figure is the time from the tick until the last
          of them holds its job. The baseline is the least a round opening must do, seen the same way: one grain awaits N calls
          (references built once), each callee stores the job (one durable write) and wakes its agent's long-poll.
        - Agent heartbeats through TLS (untrusted agents): a second in-process silo serves TLS on its gateway (`UseRegattaTls`,
          the data folder's self-signed certificate) and its 4 clients pin its SHA-256 as agents do. N workers register through
          the gate as agents (the worker grain issues each a credential); each heartbeat carries its worker's id + credential
          and the gate verifies it before the worker grain. The no-op baseline uses the same TLS connections and the same id +
          credential, plus the cluster key. Before timing, the scenario checks that the gate refuses a heartbeat without the
          credential or with another worker's, and a ping without the key. The plain-TCP row (no target) compares with the
          first silo's trusted clients (cluster key, no TLS); the three figures alternate.
        - Every figure is the best of a few runs; on a shared machine (see the load line at the top) a row near its target can
          flip between runs.

        """;

    public static IEnumerable<string> Computed(IReadOnlyList<BenchmarkResult> results)
    {
        var lines = new List<string>();
        foreach (var read in results.Where(r => r.Scenario.StartsWith("FedAvg K=", StringComparison.Ordinal) && r.Scenario.Contains("vs one sequential read", StringComparison.Ordinal)))
        {
            var label = read.Scenario[..read.Scenario.IndexOf(" vs ", StringComparison.Ordinal)];
            var k = int.Parse(label.Split(' ')[1]["K=".Length..], CultureInfo.InvariantCulture);
            var p = label.Split(' ')[2];
            var bound = TrafficBound(k);
            lines.Add(F($"- {label}: {read.Ours:F1} GB/s against a single-thread read of {read.Baseline:F1} GB/s ({read.Ratio:F2}); the kernel's memory traffic ({Traffic(k)} model sizes for {k} updates read) bounds it at {bound:F2} of a read on one core."));
            if (results.FirstOrDefault(r => r.Scenario.StartsWith("FedAvg step: sequential read on all", StringComparison.Ordinal) && r.Scenario.EndsWith($"K={k} {p}", StringComparison.Ordinal)) is { Ratio: { } cores })
                lines.Add(F($"  Reading the same updates on every core gave {cores:F2}× the single-thread read: what more threads can add."));
            if (results.FirstOrDefault(r => r.Scenario == $"{label} vs Flower FedAvg (numpy)") is { Baseline: { } np })
                lines.Add(F($"  The ≥ 8 × numpy target needs {8 * np:F1} GB/s of update data here (numpy {np:F2} GB/s); one core read {read.Baseline:F1} GB/s."));
        }
        if (results.FirstOrDefault(r => r.Scenario.StartsWith("SHA-256 of", StringComparison.Ordinal)) is { Baseline: { } raw, Ours: { } sha })
            lines.Add(F($"- Weight transfer: each byte is hashed by the sender and by the receiver (SHA-256), both on this machine's {Environment.ProcessorCount} cores; one core hashed {sha:F0} MB/s, {sha / raw:F2} of raw loopback TCP ({raw:F0} MB/s). Even with the two hashes on separate cores and overlapping the transfer, a hash-checked path reaches at most that share of raw TCP, against a target of 0.5."));
        foreach (var missing in results.Where(r => r.Met == false && r.Baseline is null))
            lines.Add($"- {missing.Scenario}: no baseline in this run ({missing.Note ?? "none measured"}), counted as missed.");
        return lines;
    }

    /// <summary>
    /// Model sizes moved per round for K updates folded <see cref="FedAvgAccumulator.MaxBatch"/> per pass (models past
    /// the non-temporal threshold, as every benchmarked P is): K reads, then per pass a read of the sum (not on the first)
    /// and a write of the scratch (no read-for-ownership); then the mean: written beside the sum by a single pass, else
    /// the divide reads and writes.
    /// </summary>
    private static int Traffic(int k)
    {
        var passes = (k + FedAvgAccumulator.MaxBatch - 1) / FedAvgAccumulator.MaxBatch;
        return k + passes * 2 - 1 + (passes == 1 ? 1 : 2);
    }

    private static double TrafficBound(int k) => (double)k / Traffic(k);

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
