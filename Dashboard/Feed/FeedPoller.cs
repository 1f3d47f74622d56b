using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Regatta.Dashboard.Feed;

/// <summary>
/// Polls the grains once per <see cref="RegattaDashboardOptions.RefreshInterval"/> while at least one viewer is
/// subscribed, and at once when an action or a new viewer asks for it, then publishes the snapshot to the feed.
/// </summary>
public sealed class FeedPoller(
    DashboardFeed feed,
    SnapshotReader reader,
    IOptions<RegattaDashboardOptions> options,
    TimeProvider time,
    IMeterFactory meters,
    ILogger<FeedPoller> logger) : BackgroundService
{
    private readonly Histogram<double> _pollSeconds = meters.Create(DashboardMetrics.MeterName)
        .CreateHistogram<double>("regatta.dashboard.poll.duration", "s", "Time to read one dashboard snapshot from the grains");
    private readonly Counter<long> _pollFailures = meters.Create(DashboardMetrics.MeterName)
        .CreateCounter<long>("regatta.dashboard.poll.failures", description: "Dashboard polls that the cluster did not answer");
    private string? _lastProblem;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.RefreshInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = feed.WakeRequested();
            if (feed.Subscribers > 0) await PollOnce(stoppingToken);
            try
            {
                // Nobody watching: sleep until a viewer subscribes (RefreshNow) instead of polling for no one.
                if (feed.Subscribers > 0) await Task.WhenAny(Task.Delay(interval, time, stoppingToken), wake);
                else await wake.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        }
    }

    internal async Task PollOnce(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var snapshot = await reader.ReadAsync(feed.Current, feed.WatchedRuns(), cancellationToken);
            _pollSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            if (_lastProblem is not null) logger.LogInformation("Dashboard feed reads the cluster again");
            _lastProblem = null;
            feed.Publish(snapshot);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            _pollFailures.Add(1);
            var problem = $"the cluster did not answer: {e.Message}";
            // Logged once per distinct problem: a silo that is still starting would otherwise log every second.
            if (problem != _lastProblem) logger.LogWarning(e, "Dashboard feed could not read the cluster");
            _lastProblem = problem;
            feed.Publish(feed.Current with { Problem = problem, At = time.GetUtcNow() });
        }
    }
}
