using Regatta.Jobs;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>The embedded SQLite store: what a silo wrote is there after a restart, and reminders wake runs by themselves.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Runs_workers_and_jobs_survive_a_silo_restart_on_the_same_sqlite_file()
    {
        var cluster = await RegattaCluster.StartAsync();
        try
        {
            var run = cluster.Grains.GetGrain<IRunGrain>("durable");
            await run.Create(Specs.Quick(rounds: 1));
            await run.Start();
            await using (var a = new ScriptedWorker(cluster.Grains, "w-a"))
            await using (var b = new ScriptedWorker(cluster.Grains, "w-b"))
            {
                foreach (var w in new[] { a, b })
                {
                    await w.RegisterAsync();
                    await run.Join(w.WorkerId, null);
                    w.Start();
                }
                await Eventually.Until(run.GetView, v => v.State == RunState.Finished, what: "run finishes");
            }
            var before = await run.GetView();
            var jobsBefore = await cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun("durable")).GetPage(0, 50);

            cluster = await cluster.RestartAsync();

            var after = await cluster.Grains.GetGrain<IRunGrain>("durable").GetView();
            Assert.Equal(RunState.Finished, after.State);
            Assert.Equal(before.GlobalModelHash, after.GlobalModelHash);
            Assert.Equal(before.CommittedRounds, after.CommittedRounds);
            Assert.Equal(before.Members.Select(m => m.WorkerId), after.Members.Select(m => m.WorkerId));
            var worker = await cluster.Grains.GetGrain<IWorkerOperatorGrain>("w-a").GetView();
            Assert.Equal(ApprovalStatus.Approved, worker.Approval);
            Assert.True(worker.JobsDone > 0);
            var jobsAfter = await cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun("durable")).GetPage(0, 50);
            Assert.Equal(jobsBefore.Items, jobsAfter.Items);
            var job = await cluster.Grains.GetGrain<IJobGrain>(jobsAfter.Items[0].JobId).Get();
            Assert.Equal(JobStatus.Closed, job!.Status);
            Assert.Equal("durable", (await cluster.Grains.GetGrain<IRunRegistryGrain>(0).List(0, 10)).Items.Single().RunId);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_online_worker_reads_back_online_after_a_restart()
    {
        // Online is the enum's default value, which the store's JSON would leave out while WorkerData starts Offline.
        var cluster = await RegattaCluster.StartAsync();
        try
        {
            await using (var w = new ScriptedWorker(cluster.Grains, "w-on"))
                Assert.Equal(Liveness.Online, (await w.RegisterAsync()).Liveness);

            cluster = await cluster.RestartAsync(heartbeatTimeout: TimeSpan.FromMinutes(5));

            var view = await cluster.Grains.GetGrain<IWorkerOperatorGrain>("w-on").GetView();
            Assert.Equal(ApprovalStatus.Approved, view.Approval);
            Assert.Equal(Liveness.Online, view.Liveness);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_spec_value_equal_to_its_type_default_survives_a_restart()
    {
        // Seed 0 is the type's default but not the spec's (42): a store that drops defaults would bring back 42.
        var cluster = await RegattaCluster.StartAsync();
        try
        {
            var spec = Specs.Quick() with { Seed = 0 };
            await cluster.Grains.GetGrain<IRunGrain>("seed-zero").Create(spec);

            cluster = await cluster.RestartAsync();

            var after = await cluster.Grains.GetGrain<IRunGrain>("seed-zero").GetView();
            Assert.Equal(0, after.Spec.Seed);
            Assert.Equal(spec.Rounds, after.Spec.Rounds);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_run_left_mid_round_by_a_restart_is_woken_by_its_reminder_and_resumes()
    {
        var cluster = await RegattaCluster.StartAsync();
        try
        {
            var run = cluster.Grains.GetGrain<IRunGrain>("sleeper");
            // Members get ready but never report training, so the round can only move on at its deadline.
            await run.Create(Specs.Quick() with { RoundDeadline = TimeSpan.FromSeconds(8), MaxRoundAttempts = 5 });
            await run.Start();
            await using (var a = new ScriptedWorker(cluster.Grains, "w-a") { Answers = kind => kind != JobKind.Train })
            await using (var b = new ScriptedWorker(cluster.Grains, "w-b") { Answers = kind => kind != JobKind.Train })
            {
                foreach (var w in new[] { a, b })
                {
                    await w.RegisterAsync();
                    await run.Join(w.WorkerId, null);
                    w.Start();
                }
                await Eventually.Until(run.GetView, v => v.State == RunState.RoundTrain, what: "round 1 starts");
            }
            var stoppedAt = DateTimeOffset.UtcNow;

            cluster = await cluster.RestartAsync(heartbeatTimeout: TimeSpan.FromMinutes(5));

            // Nothing calls the run now: only its reminder can wake it. Its retry opens attempt 2's job (at its worker).
            var jobs = cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForWorker("w-a"));
            var history = await Eventually.Until(() => jobs.GetPage(0, 20), h => h.Items.Any(j => j.JobId == "sleeper.train.r1.a2.w-a"),
                TimeSpan.FromSeconds(40), "the reminder wakes the run");
            var job = history.Items.Single(j => j.JobId == "sleeper.train.r1.a2.w-a");
            Assert.True(job.OpenedAt > stoppedAt, "attempt 2 must be opened by the restarted cluster");
            Assert.Equal(JobStatus.Opened, job.Status);
            var first = await cluster.Grains.GetGrain<IJobGrain>("sleeper.train.r1.a1.w-a").Get();
            Assert.Equal(JobResult.Timeout, first!.Result);
            var view = await cluster.Grains.GetGrain<IRunGrain>("sleeper").GetView();
            Assert.Equal((RunState.RoundTrain, 1), (view.State, view.Round));
            Assert.True(view.Attempt >= 2);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }
}
