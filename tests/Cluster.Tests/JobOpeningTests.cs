using Regatta.Jobs;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>
/// How a run's jobs come to exist: the run sends each member its assignment and the member's worker grain opens
/// the job record (held in memory: the worker's stored assignment is the open job's durable copy until it closes);
/// a job the run closes before that happens stays closed; a run's job history takes a whole round of records at once
/// and keeps every one across a restart.
/// </summary>
public sealed class JobOpeningTests
{
    private static readonly Hardware Cpu = new() { DeviceKind = "cpu", DeviceName = "test", CpuCores = 2, RamBytes = 1 << 30, AgentVersion = "test" };

    [Fact]
    public async Task An_assignment_opens_its_job_at_its_worker_and_reaches_the_agent_once()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var (worker, assignment) = await RegisteredWorker(cluster, "w-open", "r-open");

        await worker.Assign(assignment);
        await worker.Assign(assignment); // a replay after a crash: still one job, one assignment

        var delivered = await worker.NextAssignment(TimeSpan.FromSeconds(10));
        Assert.Equal(assignment.JobId, delivered?.JobId);
        Assert.NotEqual(default, delivered!.OpenedAt);
        Assert.Null(await worker.NextAssignment(TimeSpan.Zero));
        Assert.Equal(0, (await worker.Agent.Heartbeat(new Heartbeat())).PendingAssignments);
        // The open job shows in its worker's history (its run's shows a round's openings from the run); its own grain
        // stores it when it closes.
        var page = await Eventually.Until(() => cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForWorker("w-open")).GetPage(0, 10),
            p => p.Total == 1, what: "the opening reaches the history (one-way)");
        var opened = Assert.Single(page.Items);
        Assert.Equal((assignment.JobId, JobStatus.Opened, "w-open", "r-open", 1, JobKind.Train, delivered.OpenedAt),
            (opened.JobId, opened.Status, opened.WorkerId, opened.RunId, opened.Round, opened.Kind, opened.OpenedAt));

        var closed = await worker.Agent.Complete(assignment.JobId, new JobOutcome { Succeeded = true });
        Assert.Equal((JobStatus.Closed, JobResult.Success, "r-open/1/1", delivered.OpenedAt), (closed.Status, closed.Result, closed.RequestId, closed.OpenedAt));
        Assert.Equal(assignment.ModelHash, closed.InputModelHash);
        Assert.Equal(JobStatus.Closed, (await cluster.Grains.GetGrain<IJobGrain>(assignment.JobId).Get())!.Status);
    }

    [Fact]
    public async Task A_run_closing_an_open_job_closes_it_through_its_worker_with_the_whole_record()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var (worker, assignment) = await RegisteredWorker(cluster, "w-timeout", "r-timeout");
        await worker.Assign(assignment);
        var delivered = await worker.NextAssignment(TimeSpan.FromSeconds(10));

        await worker.Cluster.CloseJob(assignment.JobId, JobResult.Timeout, "round deadline passed");

        var job = await cluster.Grains.GetGrain<IJobGrain>(assignment.JobId).Get();
        Assert.Equal((JobStatus.Closed, JobResult.Timeout, "round deadline passed", "w-timeout", "r-timeout", 1, delivered!.OpenedAt),
            (job!.Status, job.Result, job.Error, job.WorkerId, job.RunId, job.Round, job.OpenedAt));
        var refused = await Assert.ThrowsAsync<RegattaException>(() => worker.Agent.Complete(assignment.JobId, new JobOutcome { Succeeded = true }));
        Assert.Equal("job_closed", refused.Code);
        var history = await Eventually.Until(() => cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForWorker("w-timeout")).GetPage(0, 10),
            h => h.Items.Single().Status == JobStatus.Closed, what: "the worker's history shows the closing");
        Assert.Equal(JobResult.Timeout, history.Items[0].Result);
        Assert.Equal(1, (await cluster.Grains.GetGrain<IWorkerOperatorGrain>("w-timeout").GetView()).JobsFailed);
    }

    [Fact]
    public async Task Polls_waiting_when_the_assignment_arrives_get_it_once_and_it_stays_delivered_across_a_restart()
    {
        var cluster = await RegattaCluster.StartAsync();
        try
        {
            var (worker, assignment) = await RegisteredWorker(cluster, "w-wait", "r-wait");
            var polls = new[] { worker.NextAssignment(TimeSpan.FromSeconds(20)), worker.NextAssignment(TimeSpan.FromSeconds(3)) };
            await cluster.Grains.GetGrain<IWorkerOperatorGrain>("w-wait").GetView(); // answered after both polls have started waiting

            await worker.Assign(assignment); // handed to a waiting poll, stored as delivered in the same write
            var got = await Task.WhenAll(polls);

            Assert.Equal(assignment.JobId, Assert.Single(got, a => a is not null)!.JobId);
            Assert.Equal(0, (await worker.Agent.Heartbeat(new Heartbeat())).PendingAssignments);
            cluster = await cluster.RestartAsync();
            var again = new Worker(cluster.Grains.GetGrain<IWorkerClusterGrain>("w-wait"), cluster.Grains.GetGrain<IWorkerGrain>("w-wait"));
            Assert.Null(await again.NextAssignment(TimeSpan.Zero));
            Assert.Equal(0, (await again.Agent.Heartbeat(new Heartbeat())).PendingAssignments);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_open_job_lost_with_its_silo_is_closed_from_its_workers_stored_assignment()
    {
        var cluster = await RegattaCluster.StartAsync();
        try
        {
            var (worker, assignment) = await RegisteredWorker(cluster, "w-crash", "r-crash");
            await worker.Assign(assignment);
            Assert.Equal(assignment.JobId, (await worker.NextAssignment(TimeSpan.FromSeconds(10)))?.JobId);

            // An open job is stored by its worker only: after the crash its own grain has nothing.
            cluster = await cluster.CrashAndRestartAsync();
            var job = cluster.Grains.GetGrain<IJobGrain>(assignment.JobId);
            Assert.Null(await job.Get());

            var agent = cluster.Grains.GetGrain<IWorkerGrain>("w-crash");
            var closed = await agent.Complete(assignment.JobId, new JobOutcome { Succeeded = true, Metrics = { [MetricNames.Examples] = 10 } });
            Assert.Equal((JobStatus.Closed, JobResult.Success, "w-crash", "r-crash", 1), (closed.Status, closed.Result, closed.WorkerId, closed.RunId, closed.Round));
            var stored = await job.Get();
            Assert.Equal((JobStatus.Closed, 10.0), (stored!.Status, stored.Metrics[MetricNames.Examples]));
            var history = await cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForWorker("w-crash")).GetPage(0, 10);
            Assert.Equal((JobStatus.Closed, JobResult.Success), (Assert.Single(history.Items).Status, history.Items[0].Result));
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_job_the_run_closes_after_a_crash_is_closed_from_its_workers_assignment_and_the_report_refused()
    {
        var cluster = await RegattaCluster.StartAsync();
        try
        {
            var (worker, assignment) = await RegisteredWorker(cluster, "w-gone", "r-gone");
            await worker.Assign(assignment); // one-way: stored once the worker counts it pending
            await Eventually.Until(async () => (await worker.Agent.Heartbeat(new Heartbeat())).PendingAssignments, n => n == 1, what: "the worker stored its assignment");
            cluster = await cluster.CrashAndRestartAsync();
            var job = cluster.Grains.GetGrain<IJobGrain>(assignment.JobId);
            await cluster.Grains.GetGrain<IWorkerClusterGrain>("w-gone").CloseJob(assignment.JobId, JobResult.Timeout, "round deadline passed"); // the run's deadline, before the worker reported

            var agent = cluster.Grains.GetGrain<IWorkerGrain>("w-gone");
            var refused = await Assert.ThrowsAsync<RegattaException>(() => agent.Complete(assignment.JobId, new JobOutcome { Succeeded = true }));
            Assert.Equal("job_closed", refused.Code);
            var closed = await job.Get();
            Assert.Equal((JobStatus.Closed, JobResult.Timeout, "w-gone"), (closed!.Status, closed.Result, closed.WorkerId));
            await Eventually.Until(async () => (await agent.Heartbeat(new Heartbeat())).PendingAssignments, n => n == 0, what: "the worker dropped the closed job");
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_job_closed_before_its_worker_opened_it_stays_closed_and_is_not_handed_out()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var (worker, assignment) = await RegisteredWorker(cluster, "w-late", "r-late");
        var job = cluster.Grains.GetGrain<IJobGrain>(assignment.JobId);

        // The round's deadline passed while the assignment was still on its way.
        await worker.Cluster.CloseJob(assignment.JobId, JobResult.Timeout, "round deadline passed");
        Assert.Null(await job.Get()); // nothing to show until the worker's copy arrives
        await Assert.ThrowsAsync<RegattaException>(() => job.Complete("w-late", new JobOutcome { Succeeded = true }));

        await worker.Assign(assignment); // one-way: its job record shows when the worker has handled it
        var closed = await Eventually.Until(job.Get, j => j is not null, what: "the worker opened the job");
        Assert.NotNull(closed);
        Assert.Equal((JobStatus.Closed, JobResult.Timeout, "round deadline passed", "w-late"), (closed.Status, closed.Result, closed.Error, closed.WorkerId));
        Assert.Null(await worker.NextAssignment(TimeSpan.Zero));
        await Assert.ThrowsAsync<RegattaException>(() => job.Complete("w-late", new JobOutcome { Succeeded = true }));
    }

    [Fact]
    public async Task A_round_of_concurrent_history_records_is_kept_whole_across_a_restart()
    {
        var cluster = await RegattaCluster.StartAsync();
        try
        {
            var history = cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun("r-big"));
            var jobs = Enumerable.Range(0, 500).Select(i => new JobSummary($"r-big.train.r1.a1.w-{i:D3}", "r-big", 1, $"w-{i:D3}",
                JobKind.Train, JobStatus.Opened, JobResult.None, DateTimeOffset.UnixEpoch.AddSeconds(i), null, null)).ToList();
            await Task.WhenAll(jobs.Select(history.Record));
            // A second record of a job replaces it in place (it closed), and a repeat changes nothing.
            var closed = jobs[7] with { Status = JobStatus.Closed, Result = JobResult.Success };
            await Task.WhenAll(history.Record(closed), history.Record(closed), history.Record(jobs[8]));
            await history.Record(jobs[7]); // its opening, arriving late (senders do not await records in order): the closing stays

            cluster = await cluster.RestartAsync();

            history = cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun("r-big"));
            var first = await history.GetPage(0, 300);
            var rest = await history.GetPage(300, 300);
            Assert.Equal(500, first.Total);
            // Concurrent records land in the order they arrive: compare as sets, each job once.
            var expected = jobs.Select(j => j.JobId == closed.JobId ? closed : j).OrderBy(j => j.JobId, StringComparer.Ordinal);
            Assert.Equal(expected, first.Items.Concat(rest.Items).OrderBy(j => j.JobId, StringComparer.Ordinal));
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    /// <summary>A registered worker and the round-1 train assignment its run would send it.</summary>
    /// <summary>The worker as its run (<see cref="Worker.Assign"/>) and its agent (<see cref="Worker.NextAssignment"/>) reach it.</summary>
    private sealed record Worker(IWorkerClusterGrain Cluster, IWorkerGrain Agent)
    {
        public Task Assign(Assignment assignment) => Cluster.Assign(assignment);
        public Task<Assignment?> NextAssignment(TimeSpan maxWait) => Agent.NextAssignment(maxWait);
    }

    private static async Task<(Worker, Assignment)> RegisteredWorker(RegattaCluster cluster, string workerId, string runId)
    {
        var worker = new Worker(cluster.Grains.GetGrain<IWorkerClusterGrain>(workerId), cluster.Grains.GetGrain<IWorkerGrain>(workerId));
        await worker.Agent.Register(new WorkerRegistration { Name = workerId, Hardware = Cpu });
        return (worker, Assignment($"{runId}.train.r1.a1.{workerId}", runId));
    }

    private static Assignment Assignment(string jobId, string runId) => new()
    {
        JobId = jobId,
        RunId = runId,
        Round = 1,
        Attempt = 1,
        Kind = JobKind.Train,
        ModelHash = new string('a', 64),
        Deadline = DateTimeOffset.UtcNow.AddHours(1),
        Spec = new RunSpec { Name = runId },
    };
}
