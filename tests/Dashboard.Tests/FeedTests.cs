using Regatta.Dashboard.Feed;
using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Tests;

public sealed class FeedTests
{
    [Fact]
    public void Every_subscriber_gets_each_snapshot_until_it_unsubscribes_and_a_failing_one_does_not_stop_the_others()
    {
        var feed = new DashboardFeed();
        var seen = new List<DateTimeOffset>();
        using var broken = feed.Subscribe(_ => throw new InvalidOperationException("viewer gone"));
        var subscription = feed.Subscribe(s => seen.Add(s.At));
        Assert.Equal(2, feed.Subscribers);

        var at = DateTimeOffset.UnixEpoch.AddDays(1);
        feed.Publish(new FeedSnapshot { At = at, Loaded = true });
        Assert.Equal([at], seen);
        Assert.Equal(at, feed.Current.At);

        subscription.Dispose();
        subscription.Dispose(); // idempotent
        feed.Publish(new FeedSnapshot { At = at.AddSeconds(1) });
        Assert.Single(seen);
        Assert.Equal(1, feed.Subscribers);
    }

    [Fact]
    public async Task A_new_viewer_or_an_action_wakes_the_poller_at_once()
    {
        var feed = new DashboardFeed();
        var wake = feed.WakeRequested();
        Assert.False(wake.IsCompleted);
        using var viewer = feed.Subscribe(_ => { });
        await wake.WaitAsync(TimeSpan.FromSeconds(5));
        var next = feed.WakeRequested();
        Assert.False(next.IsCompleted);
        feed.RefreshNow();
        await next.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Watched_runs_stay_watched_until_the_last_page_showing_them_closes()
    {
        var feed = new DashboardFeed();
        var first = feed.Watch("run-a");
        var second = feed.Watch("run-a");
        first.Dispose();
        Assert.Equal(["run-a"], feed.WatchedRuns());
        second.Dispose();
        Assert.Empty(feed.WatchedRuns());
    }

    [Fact]
    public void A_run_is_read_again_while_it_can_move_and_kept_once_it_ended()
    {
        var at = DateTimeOffset.UnixEpoch;
        RunDetail Detail(RunState state) => new(new RunView { RunId = "r", State = state }, [], [], [], []);
        RunSummary Summary(RunState state, int round = 1) => new("r", "r", state, round, 2, double.NaN, at);

        Assert.True(SnapshotReader.NeedsRead(Detail(RunState.RoundTrain), Summary(RunState.RoundTrain), Summary(RunState.RoundTrain)));
        // NaN best accuracy in both: still the same summary, so an ended run is not read again.
        Assert.False(SnapshotReader.NeedsRead(Detail(RunState.Finished), Summary(RunState.Finished), Summary(RunState.Finished)));
        Assert.True(SnapshotReader.NeedsRead(Detail(RunState.Created), Summary(RunState.WaitingForMembers), Summary(RunState.Created)));
        Assert.False(SnapshotReader.NeedsRead(Detail(RunState.Created), Summary(RunState.Created), Summary(RunState.Created)));
    }

    [Fact]
    public void Problems_gather_error_reports_failed_jobs_and_failed_runs_newest_first()
    {
        var t0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z");
        var job = new JobSummary("j1", "r", 1, "w1", JobKind.Train, JobStatus.Closed, JobResult.Timeout, t0, t0.AddSeconds(30), "no answer");
        var ok = job with { JobId = "j2", Result = JobResult.Success, Error = null };
        var detail = new RunDetail(
            new RunView { RunId = "r", State = RunState.Failed, FailureReason = "too many attempts" },
            [],
            [new RunTransition(RunState.RoundTrain, RunState.Failed, t0.AddMinutes(2), "too many attempts", 1)],
            [new RunReport(t0.AddSeconds(10), "info", "w1", "started"), new RunReport(t0.AddSeconds(20), "error", "w1", "out of memory", "train")],
            [job, ok]);
        var problems = SnapshotReader.Problems([detail]);
        Assert.Equal(["too many attempts", "no answer", "out of memory"], problems.Select(p => p.Message));
        Assert.Equal("w1 (train)", problems[2].Source);
        Assert.All(problems, p => Assert.Equal("r", p.RunId));
    }

    [Fact]
    public void Jobs_per_minute_counts_jobs_closed_in_the_last_minute()
    {
        var now = DateTimeOffset.Parse("2026-01-01T00:10:00Z");
        JobSummary Closed(string id, double secondsAgo) => new(id, "r", 1, "w", JobKind.Train, JobStatus.Closed, JobResult.Success, now.AddMinutes(-5), now.AddSeconds(-secondsAgo), null);
        var open = new JobSummary("open", "r", 1, "w", JobKind.Train, JobStatus.Opened, JobResult.None, now, null, null);
        var detail = new RunDetail(new RunView { RunId = "r" }, [], [], [], [Closed("a", 5), Closed("b", 59), Closed("c", 61), open]);
        Assert.Equal(2, SnapshotReader.JobsPerMinute([detail], now));
    }
}
