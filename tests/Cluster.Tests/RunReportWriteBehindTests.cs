using Regatta.Runs;

namespace Regatta.Tests;

/// <summary>
/// A run writes its members' job reports behind (by the next tick): a report it had taken and not yet written must not
/// be lost when it reads its stored state back.
/// </summary>
public sealed class RunReportWriteBehindTests
{
    [Fact]
    public async Task A_command_refused_mid_round_keeps_the_reports_the_run_had_not_yet_written()
    {
        // Ticks 3 s apart: the report below is taken well before the tick that would write it.
        await using var cluster = await RegattaCluster.StartAsync(tick: TimeSpan.FromSeconds(3));
        var run = cluster.Grains.GetGrain<IRunGrain>("behind");
        await run.Create(Specs.Quick(rounds: 1) with { RoundDeadline = TimeSpan.FromSeconds(60) });
        await run.Start();
        await using var fast = new ScriptedWorker(cluster.Grains, "w-fast");
        await using var slow = new ScriptedWorker(cluster.Grains, "w-slow") { TrainDelay = TimeSpan.FromSeconds(5) };
        foreach (var w in new[] { fast, slow })
        {
            await w.RegisterAsync();
            await run.Join(w.WorkerId, null);
            w.Start();
        }
        await Eventually.Until(() => Task.FromResult(fast.CompletedJobs.ToArray()), jobs => jobs.Contains("behind.train.r1.a1.w-fast"),
            TimeSpan.FromSeconds(30), "the fast member reports");

        // A refused command makes the run read its stored state back, which the report is not in yet: the closed job
        // tells the run again.
        var refused = await Assert.ThrowsAsync<RegattaException>(run.Start);
        Assert.Equal("invalid_state", refused.Code);

        var end = await Eventually.Until(run.GetView, v => v.State.IsTerminal(), TimeSpan.FromSeconds(50), "the run ends");
        Assert.Equal(RunState.Finished, end.State);
        var round = Assert.Single(await run.GetRounds());
        Assert.Equal((1, 2), (round.Attempts, round.UpdatesAccepted)); // not the slow member's alone at the deadline
    }
}
