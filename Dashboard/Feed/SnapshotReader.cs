using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Regatta.Jobs;
using Regatta.Network;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Dashboard.Feed;

/// <summary>
/// Reads one snapshot from the grains: the registries, the silos, and the details of the runs that can change (not
/// terminal) or that someone watches. Details of a run that has ended are read once and then reused.
/// </summary>
public sealed class SnapshotReader(IGrainFactory grains, TimeProvider time, ILogger<SnapshotReader>? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger<SnapshotReader>.Instance;
    private bool _networkFailed;
    /// <summary>Usage entries shown on the network page.</summary>
    public const int RecentUsageShown = 25;
    /// <summary>Workers and runs listed per poll; the registries page beyond that.</summary>
    public const int MaxListed = 500;
    private const int RecentJobsPerRun = 100;
    private const int ProblemsKept = 25;

    public async Task<FeedSnapshot> ReadAsync(FeedSnapshot previous, IReadOnlyCollection<string> watched, CancellationToken cancellationToken)
    {
        var silos = ReadSilos();
        var counts = grains.GetGrain<IWorkerRegistryGrain>(0).Counts();
        var workers = ReadWorkers();
        var network = ReadNetwork();
        var runs = await grains.GetGrain<IRunRegistryGrain>(0).List(0, MaxListed);
        cancellationToken.ThrowIfCancellationRequested();

        var previousRuns = previous.Runs.ToDictionary(r => r.RunId);
        var wanted = runs.Items.Select(r => r.RunId).Concat(watched).Distinct(StringComparer.Ordinal).ToList();
        var details = new Dictionary<string, RunDetail>(StringComparer.Ordinal);
        var reads = new List<Task<RunDetail?>>();
        foreach (var runId in wanted)
        {
            var summary = runs.Items.FirstOrDefault(r => r.RunId == runId);
            var cached = previous.Run(runId);
            if (cached is not null && !NeedsRead(cached, summary, previousRuns.GetValueOrDefault(runId))) details[runId] = cached;
            else reads.Add(ReadRun(runId));
        }
        foreach (var detail in await Task.WhenAll(reads))
            if (detail is not null) details[detail.View.RunId] = detail;

        var now = time.GetUtcNow();
        return new FeedSnapshot
        {
            At = now,
            Loaded = true,
            Silos = await silos,
            WorkerCounts = await counts,
            Workers = await workers,
            Runs = runs.Items,
            RunsTotal = runs.Total,
            RunDetails = details,
            JobsPerMinute = JobsPerMinute(details.Values, now),
            RecentProblems = Problems(details.Values),
            Network = await network,
        };
    }

    /// <summary>
    /// A run is read again while it can move (started, not ended) or when its summary changed; a created or ended run
    /// keeps its cached details, so a long list of finished runs costs nothing per poll.
    /// </summary>
    public static bool NeedsRead(RunDetail cached, RunSummary? summary, RunSummary? previous)
    {
        var state = summary?.State ?? cached.View.State;
        if (state is not RunState.Created && !state.IsTerminal()) return true;
        return summary is not null && (previous is null || !Same(previous, summary));
    }

    // NaN != NaN: a record holding a NaN accuracy never equals itself.
    private static bool Same(RunSummary a, RunSummary b) =>
        a with { BestAccuracy = 0 } == b with { BestAccuracy = 0 } && a.BestAccuracy.Equals(b.BestAccuracy);

    /// <summary>Reads one run's details (for a page that opens a run the feed does not have yet).</summary>
    public async Task<RunDetail?> ReadRun(string runId)
    {
        if (!Ids.IsValid(runId)) return null;
        var run = grains.GetGrain<IRunGrain>(runId);
        var view = run.GetView();
        var rounds = run.GetRounds();
        var timeline = run.GetTimeline();
        var reports = run.GetReports();
        var jobs = grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun(runId)).GetPage(0, RecentJobsPerRun);
        var v = await view;
        if (string.IsNullOrEmpty(v.RunId)) return null; // no such run: its grain answers with an empty view
        return new RunDetail(v, await rounds, await timeline, await reports, (await jobs).Items);
    }

    private async Task<IReadOnlyList<SiloInfo>> ReadSilos()
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false);
        return hosts.Select(h => new SiloInfo(h.SiloAddress.ToString(), h.SiloName, h.Status.ToString(),
                h.StartTime == default ? null : new DateTimeOffset(DateTime.SpecifyKind(h.StartTime, DateTimeKind.Utc))))
            .OrderBy(s => s.Status == "Active" ? 0 : 1).ThenBy(s => s.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The network grains are the inference side's; a poll still shows runs and workers if they fail.</summary>
    private async Task<NetworkInfo?> ReadNetwork()
    {
        try
        {
            var network = NetworkView.ReadAsync(grains);
            var usage = grains.GetGrain<IUsageLogGrain>(0);
            var totals = usage.Totals();
            var recent = usage.Recent(RecentUsageShown);
            var plan = grains.GetGrain<ILayerMapGrain>(0).GetView();
            var served = await network;
            var info = new NetworkInfo(served.Settings, await totals, await recent)
            {
                Plan = await plan,
                Model = served.Model,
            };
            _networkFailed = false;
            return info;
        }
        catch (Exception e) when (e is OrleansException or RegattaException or TimeoutException or ArgumentException or InvalidOperationException)
        {
            if (!_networkFailed) _logger.LogWarning(e, "Dashboard feed could not read the network grains");
            _networkFailed = true;
            return null;
        }
    }

    private async Task<IReadOnlyList<WorkerView>> ReadWorkers()
    {
        var page = await grains.GetGrain<IWorkerRegistryGrain>(0).List(0, MaxListed);
        var views = await Task.WhenAll(page.Items.Select(w => grains.GetGrain<IWorkerOperatorGrain>(w.WorkerId).GetView()));
        return views.OrderBy(w => w.Approval == ApprovalStatus.Pending ? 0 : 1).ThenBy(w => w.WorkerId, StringComparer.Ordinal).ToList();
    }

    /// <summary>Jobs of the known runs that closed in the last minute.</summary>
    public static double JobsPerMinute(IEnumerable<RunDetail> runs, DateTimeOffset now) =>
        runs.SelectMany(r => r.RecentJobs).Count(j => j.ClosedAt is { } closed && closed > now.AddMinutes(-1) && closed <= now);

    /// <summary>Errors and warnings of the known runs, newest first: reports, failed jobs, failed runs.</summary>
    public static IReadOnlyList<ProblemReport> Problems(IEnumerable<RunDetail> runs)
    {
        var problems = new List<ProblemReport>();
        foreach (var run in runs)
        {
            var id = run.View.RunId;
            problems.AddRange(run.Reports.Where(r => r.Severity is "error" or "warning")
                .Select(r => new ProblemReport(r.At, r.Severity, r.Stage is null ? r.Source : $"{r.Source} ({r.Stage})", r.Message, id)));
            problems.AddRange(run.RecentJobs.Where(j => j.Result is JobResult.Failure or JobResult.Timeout)
                .Select(j => new ProblemReport(j.ClosedAt ?? j.OpenedAt, "error", $"{j.Kind} job on {j.WorkerId}",
                    j.Error ?? j.Result.ToString(), id)));
            if (run.View.State == RunState.Failed)
                problems.Add(new ProblemReport(run.Timeline.LastOrDefault()?.At ?? run.View.CreatedAt, "error", "run",
                    run.View.FailureReason ?? "failed", id));
        }
        return problems.OrderByDescending(p => p.At).Take(ProblemsKept).ToList();
    }
}
