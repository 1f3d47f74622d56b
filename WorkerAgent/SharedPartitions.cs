using System.Collections.Concurrent;
using Regatta.Learning.Data;
using Regatta.Runs;

namespace Regatta.WorkerAgent;

/// <summary>
/// The partitions of each run, built once for all of a simulation's virtual clients: each client takes its own part
/// from one pool instead of generating the whole pool itself (which grows with the clients: N clients would generate
/// N × N partitions' worth of examples).
/// </summary>
public sealed class SharedPartitions : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<PartitionSet>> _runs = new();

    /// <summary>The member's part of run <paramref name="runId"/>, whose data is <paramref name="data"/> (the same for every client of the run).</summary>
    public (Dataset Train, Dataset HoldOut) Take(string runId, DataSpec data, RunSpec spec, int partition) =>
        _runs.GetOrAdd(runId, _ => new Lazy<PartitionSet>(() => DataCatalog.Partitions(data, spec.Seed, spec.Model))).Value.Take(partition);

    public void Dispose()
    {
        foreach (var run in _runs.Values)
            if (run.IsValueCreated) run.Value.Dispose();
    }
}
