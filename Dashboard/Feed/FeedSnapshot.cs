using Regatta.Jobs;
using Regatta.Network;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Dashboard.Feed;

/// <summary>One silo of the cluster as the management grain lists it.</summary>
public sealed record SiloInfo(string Address, string Name, string Status, DateTimeOffset? StartedAt);

/// <summary>Everything the run pages show about one run, read in one poll.</summary>
public sealed record RunDetail(
    RunView View,
    IReadOnlyList<RoundRecord> Rounds,
    IReadOnlyList<RunTransition> Timeline,
    IReadOnlyList<RunReport> Reports,
    IReadOnlyList<JobSummary> RecentJobs);

/// <summary>The inference network's settings and usage, when the silo hosts the network grains.</summary>
public sealed record NetworkInfo(NetworkSettings Settings, UsageTotals Totals, IReadOnlyList<UsageEntry> RecentUsage)
{
    /// <summary>The layer plan and the served model; null when the layer map could not be read.</summary>
    public LayerMapView? Plan { get; init; }
    public ServedModel? Model { get; init; }
}

/// <summary>A problem worth an operator's eye: an error or warning report, a failed job, a failed run.</summary>
public sealed record ProblemReport(DateTimeOffset At, string Severity, string Source, string Message, string? RunId);

/// <summary>
/// What the dashboard knows about the cluster at one moment. Immutable: the feed replaces it as a whole, so every
/// component rendering it sees one consistent picture.
/// </summary>
public sealed record FeedSnapshot
{
    public DateTimeOffset At { get; init; }
    /// <summary>Null while the cluster answers; otherwise why the last poll failed.</summary>
    public string? Problem { get; init; }
    public bool Loaded { get; init; }
    public IReadOnlyList<SiloInfo> Silos { get; init; } = [];
    public WorkerCounts WorkerCounts { get; init; } = new(0, 0, 0, 0);
    public IReadOnlyList<WorkerView> Workers { get; init; } = [];
    public IReadOnlyList<RunSummary> Runs { get; init; } = [];
    public int RunsTotal { get; init; }
    public IReadOnlyDictionary<string, RunDetail> RunDetails { get; init; } = new Dictionary<string, RunDetail>();
    public double JobsPerMinute { get; init; }
    public IReadOnlyList<ProblemReport> RecentProblems { get; init; } = [];
    /// <summary>Null when the network grains did not answer.</summary>
    public NetworkInfo? Network { get; init; }

    public static FeedSnapshot Empty { get; } = new();

    public IEnumerable<RunSummary> ActiveRuns => Runs.Where(r => r.State is not RunState.Created && !r.State.IsTerminal());

    public RunDetail? Run(string runId) => RunDetails.GetValueOrDefault(runId);
    public WorkerView? Worker(string workerId) => Workers.FirstOrDefault(w => w.WorkerId == workerId);
}
