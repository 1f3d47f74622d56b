using System.Text.RegularExpressions;
using Regatta.Jobs;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>Production mode keeps everything in PostgreSQL: a silo stopped and started again finds it all.</summary>
[Collection(Production.Name)]
public sealed class RestartTests(PostgresServer postgres)
{
    [Fact]
    public async Task Grain_state_reminders_and_job_history_survive_stopping_and_starting_the_silo()
    {
        await using var cluster = await ProductionCluster.CreateAsync(postgres);
        cluster.Settings["Regatta__HeartbeatTimeout"] = "00:05:00"; // the stuck members below never heartbeat
        var silo = await cluster.StartSiloAsync();
        var grains = await cluster.ConnectClientAsync();

        // A run that finishes, with its jobs, workers and model blobs.
        var durable = grains.GetGrain<IRunGrain>("durable");
        await durable.Create(Specs.Quick(rounds: 2));
        await durable.Start();
        await using (var members = (await Members.JoinAsync(grains, durable, "w-a", "w-b")).Start())
            await Eventually.Until(durable.GetView, v => v.State == RunState.Finished, TimeSpan.FromSeconds(90), "the durable run finishes");
        var before = await durable.GetView();
        var roundsBefore = await durable.GetRounds();
        var historyBefore = await grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun("durable")).GetPage(0, 100);
        var workerBefore = await grains.GetGrain<IWorkerOperatorGrain>("w-a").GetView();

        // A run left in round 1 by members that get ready but never report training: only its reminder can move it on.
        var sleeper = grains.GetGrain<IRunGrain>("sleeper");
        await sleeper.Create(Specs.Quick() with { RoundDeadline = TimeSpan.FromSeconds(3), MaxRoundAttempts = 5 });
        await sleeper.Start();
        await using ((await Members.JoinAsync(grains, sleeper, "w-c", "w-d")).Start(answers: kind => kind != JobKind.Train))
            await Eventually.Until(sleeper.GetView, v => v.State == RunState.RoundTrain, what: "the sleeper's round 1 starts");
        Assert.Equal(1, await cluster.CountAsync("SELECT count(*) FROM OrleansRemindersTable WHERE GrainId LIKE '%sleeper%'"));
        await AssertMetricsAsync(silo);

        await silo.StopAsync();
        Assert.Equal(0, silo.ExitCode);
        // The replacement keeps the HTTP URL (as behind a Service) but listens on new silo and gateway ports.
        silo = await cluster.StartSiloAsync(SiloPorts.Free() with { Http = silo.Ports.Http });

        // The client learns the new gateway from GET /api/cluster/gateways at its next refresh.
        var after = await Eventually.Until(durable.GetView, _ => true, TimeSpan.FromSeconds(60), "the client reaches the new silo", ridesOutSiloLoss: true);
        Assert.Equal(RunState.Finished, after.State);
        Assert.Equal(before.GlobalModelHash, after.GlobalModelHash);
        Assert.Equal(before.CommittedRounds, after.CommittedRounds);
        Assert.Equal(roundsBefore.Select(r => (r.Round, r.ModelHash, r.UpdatesAccepted)), (await durable.GetRounds()).Select(r => (r.Round, r.ModelHash, r.UpdatesAccepted)));
        var historyAfter = await grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun("durable")).GetPage(0, 100);
        Assert.Equal(historyBefore.Items, historyAfter.Items);
        Assert.Equal(4, historyAfter.Items.Count(j => j.Kind == JobKind.Train)); // 2 rounds x 2 members
        Assert.Equal(2, historyAfter.Items.Count(j => j.Kind == JobKind.Witness));
        Assert.All(historyAfter.Items, j => Assert.Equal(JobResult.Success, j.Result));
        var job = await grains.GetGrain<IJobGrain>(historyAfter.Items[^1].JobId).Get();
        Assert.Equal(JobStatus.Closed, job!.Status);
        var workerAfter = await grains.GetGrain<IWorkerOperatorGrain>("w-a").GetView();
        Assert.Equal((ApprovalStatus.Approved, workerBefore.JobsDone), (workerAfter.Approval, workerAfter.JobsDone));
        Assert.Equal(workerBefore.RecentJobs, workerAfter.RecentJobs);
        // The final model is in the database, readable through the new silo.
        Assert.Equal(before.GlobalModelHash, Learning.Weights.ModelWeights.Hash(await ScriptedWorker.Download(grains, after.GlobalModelHash!)));

        // Nothing calls the sleeper now: its reminder, read back from PostgreSQL, wakes it and the deadline retries round 1.
        // (The retry opens attempt 2's job at its worker; its worker's history shows it.)
        var wc = grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForWorker("w-c"));
        await Eventually.Until(() => wc.GetPage(0, 20), h => h.Items.Any(j => j.JobId == "sleeper.train.r1.a2.w-c"),
            TimeSpan.FromSeconds(60), "the reminder wakes the sleeper");
        Assert.Equal(JobResult.Timeout, (await grains.GetGrain<IJobGrain>("sleeper.train.r1.a1.w-c").Get())!.Result);
        Assert.Contains("Run sleeper resumes", silo.Log());
    }

    /// <summary>The silo's Prometheus endpoint shows Regatta's meters after a finished run.</summary>
    private static async Task AssertMetricsAsync(SiloProcess silo)
    {
        using var http = new HttpClient();
        // The exporter caches a scrape briefly; the counters below only grow, so a fresh enough scrape is awaited.
        var text = await Eventually.Until(() => http.GetStringAsync(new Uri(silo.Http, "/metrics")),
            t => Value(t, "regatta_rounds_committed_total") >= 2, TimeSpan.FromSeconds(30), "metrics show the committed rounds");
        Assert.True(Value(text, "regatta_runs_created_total") >= 2, text);
        Assert.True(Value(text, @"regatta_runs_ended_total\{[^}]*state=""Finished""[^}]*\}") >= 1, text);
        Assert.True(Value(text, @"regatta_jobs_closed_total\{[^}]*kind=""Train""[^}]*result=""Success""[^}]*\}") >= 4, text);
        Assert.True(Value(text, "regatta_worker_heartbeats_total") > 0, text);
        Assert.True(Value(text, "regatta_aggregation_bytes_total") > 0, text);
        Assert.Contains("regatta_round_duration_seconds_bucket", text);
    }

    private static double Value(string text, string series)
    {
        var match = Regex.Match(text, $@"^{series}(?:\{{[^}}]*\}})? ([0-9.eE+-]+)", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : double.NaN;
    }
}
