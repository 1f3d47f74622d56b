using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Tests;

/// <summary>A silo process killed with SIGKILL in the middle of a round loses nothing that was acknowledged.</summary>
[Collection(Production.Name)]
public sealed class SiloCrashTests(PostgresServer postgres)
{
    [Fact]
    public async Task Run_killed_mid_round_resumes_at_that_round_on_a_new_silo_and_finishes_without_losing_a_job()
    {
        await using var cluster = await ProductionCluster.CreateAsync(postgres);
        var silo = await cluster.StartSiloAsync();
        var grains = await cluster.ConnectClientAsync();
        var run = grains.GetGrain<IRunGrain>("crash");
        await run.Create(Specs.Quick(rounds: 3) with { RoundDeadline = TimeSpan.FromSeconds(40) });
        // Rounds end when both members report; the long deadline only keeps a slow failover from cutting round 2 short.
        await run.Start();
        await using var members = await Members.JoinAsync(grains, run, "w-fast", "w-slow");
        members[1].TrainDelay = TimeSpan.FromSeconds(2); // keeps every round open after the fast member reported
        members.Start();

        // Round 2 is under way: the fast member's update is accepted and persisted, the slow one still trains.
        await Eventually.Until(() => Task.FromResult(members.Completed("crash.train.r2.a1.w-fast")), done => done, TimeSpan.FromSeconds(90),
            "the fast member reports round 2");
        var atKill = await run.GetView();
        Assert.Equal((RunState.RoundTrain, 2), (atKill.State, atKill.Round));
        var oldGeneration = (await cluster.MembershipAsync()).Single().Generation;

        await silo.KillAsync();
        var restarted = await cluster.StartSiloAsync(silo.Ports); // the replacement takes the dead silo's place

        var done = await Eventually.Until(run.GetView, v => v.State.IsTerminal(), TimeSpan.FromSeconds(120), "the run finishes", ridesOutSiloLoss: true);
        await Report(run);
        Assert.True(done.State == RunState.Finished, $"{done.State}: {done.FailureReason}\n{cluster.Logs()}");
        Assert.Equal(3, done.CommittedRounds);
        var rounds = await run.GetRounds();
        Assert.Equal([1, 2, 3], rounds.Select(r => r.Round));
        // Round 2 went on where it was, with both updates: the one accepted before the kill was kept even if the run had
        // not yet written it (its closed job told the reactivated run again).
        var round2 = rounds[1];
        Assert.True(round2 is { Attempts: 1, UpdatesAccepted: 2 }, $"round 2: {round2.Attempts} attempts, {round2.UpdatesAccepted} accepted");
        Assert.Equal(2, rounds[2].UpdatesAccepted); // both members got through to the new silo and trained round 3
        Assert.Contains("Run crash resumes in RoundTrain, round 2", restarted.Log());

        // No job record lost: every job a member completed is closed in its grain and listed in the run's history.
        var history = (await grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun("crash")).GetPage(0, 200)).Items;
        Assert.Contains(history, j => j.JobId == "crash.train.r2.a1.w-fast" && j.Result == JobResult.Success);
        foreach (var jobId in members.CompletedJobs())
        {
            Assert.Contains(history, j => j.JobId == jobId);
            var job = await grains.GetGrain<IJobGrain>(jobId).Get();
            Assert.Equal(JobStatus.Closed, job!.Status);
        }
        Assert.All(history, j => Assert.Equal(JobStatus.Closed, j.Status));

        // The killed incarnation is recorded as dead; its replacement is the one active silo.
        var membership = await cluster.MembershipAsync();
        Assert.Equal(MembershipRow.Dead, membership.Single(r => r.Generation == oldGeneration).Status);
        Assert.Equal(MembershipRow.Active, membership.Single(r => r.Generation != oldGeneration).Status);
    }

    /// <summary>The run's timeline and rounds in the test output: how the run got through the failure.</summary>
    private static async Task Report(IRunGrain run)
    {
        var output = TestContext.Current.TestOutputHelper;
        if (output is null) return;
        foreach (var t in await run.GetTimeline()) output.WriteLine($"{t.At:HH:mm:ss.fff} {t.From} -> {t.To} (round {t.Round}): {t.Reason}");
        foreach (var r in await run.GetRounds()) output.WriteLine($"round {r.Round}: {r.Attempts} attempt(s), {r.UpdatesAccepted} accepted, {(r.EndedAt - r.StartedAt).TotalSeconds:F1} s");
    }
}
