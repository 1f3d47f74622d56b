using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Tests;

/// <summary>Two silos, one cluster: losing one moves its grains to the other, and clients carry on through the survivor's gateway.</summary>
[Collection(Production.Name)]
public sealed class MultiSiloTests(PostgresServer postgres)
{
    [Fact]
    public async Task Killing_the_silo_that_hosts_a_run_moves_it_to_the_other_silo_and_the_run_and_its_clients_carry_on()
    {
        await using var cluster = await ProductionCluster.CreateAsync(postgres);
        var first = await cluster.StartSiloAsync();
        var second = await cluster.StartSiloAsync();
        var grains = await cluster.ConnectClientAsync();
        var management = grains.GetGrain<IManagementGrain>(0);
        await Eventually.Until(() => management.GetHosts(onlyActive: true), h => h.Count == 2, what: "both silos are active");

        var run = grains.GetGrain<IRunGrain>("pair");
        await run.Create(Specs.Quick(rounds: 3) with { RoundDeadline = TimeSpan.FromSeconds(40) });
        // Rounds end when both members report; the long deadline only keeps a slow failover from cutting round 2 short.
        await run.Start();
        await using var members = await Members.JoinAsync(grains, run, "w-1", "w-2");
        members[1].TrainDelay = TimeSpan.FromSeconds(2);
        members.Start();
        await Eventually.Until(() => Task.FromResult(members.Completed("pair.train.r2.a1.w-1")), done => done, TimeSpan.FromSeconds(90),
            "round 2 is under way");

        var host = await management.GetActivationAddress(run, TestContext.Current.CancellationToken) ?? throw new InvalidOperationException("the run has no activation");
        var (victim, survivor) = host.Endpoint.Port == first.Ports.Silo ? (first, second) : (second, first);
        var victimGeneration = (await cluster.MembershipAsync()).Single(r => r.Port == victim.Ports.Silo).Generation;
        await victim.KillAsync();

        // The survivor's failure detector declares the killed silo dead, and the membership table says so.
        var dead = await Eventually.Until(cluster.MembershipAsync, rows => rows.Single(r => r.Port == victim.Ports.Silo).Status == MembershipRow.Dead,
            TimeSpan.FromSeconds(60), "the killed silo is declared dead");
        Assert.Equal(victimGeneration, dead.Single(r => r.Port == victim.Ports.Silo).Generation);
        Assert.Equal(MembershipRow.Active, dead.Single(r => r.Port == survivor.Ports.Silo).Status);

        // The run re-activates on the survivor from its persisted state and finishes; the members kept working throughout.
        var done = await Eventually.Until(run.GetView, v => v.State.IsTerminal(), TimeSpan.FromSeconds(120), "the run finishes", ridesOutSiloLoss: true);
        await Report(run);
        Assert.True(done.State == RunState.Finished, $"{done.State}: {done.FailureReason}\n{cluster.Logs()}");
        Assert.Equal(3, done.CommittedRounds);
        Assert.Equal(survivor.Ports.Silo, (await management.GetActivationAddress(run, TestContext.Current.CancellationToken))!.Endpoint.Port);
        Assert.Contains("Run pair resumes", survivor.Log());
        Assert.Equal(2, (await run.GetRounds())[2].UpdatesAccepted); // both members trained round 3 after the loss
        Assert.All(members.Workers, w => Assert.Contains($"pair.train.r3.a1.{w.WorkerId}", members.CompletedJobs()));
        var history = (await grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun("pair")).GetPage(0, 200)).Items;
        Assert.All(members.CompletedJobs(), id => Assert.Contains(history, j => j.JobId == id));

        // A client that connects now finds the surviving gateway through GET /api/cluster/gateways (the dead silo's URL fails first).
        var late = await cluster.ConnectClientAsync();
        Assert.Equal(RunState.Finished, (await late.GetGrain<IRunGrain>("pair").GetView()).State);
        Assert.Single(await late.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, TestContext.Current.CancellationToken));
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
