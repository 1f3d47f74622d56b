using Regatta.Jobs;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Tests;

public sealed class RunLifecycleClusterTests : IAsyncLifetime
{
    private RegattaCluster _cluster = null!;

    public async ValueTask InitializeAsync() => _cluster = await RegattaCluster.StartAsync(heartbeatTimeout: TimeSpan.FromSeconds(2));
    public async ValueTask DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Run_goes_from_join_through_rounds_to_finished_on_the_timer_and_keeps_job_history()
    {
        var run = _cluster.Grains.GetGrain<IRunGrain>("lifecycle");
        await run.Create(Specs.Quick(rounds: 2));
        await run.Start();
        await using var a = new ScriptedWorker(_cluster.Grains, "w-a");
        await using var b = new ScriptedWorker(_cluster.Grains, "w-b");
        foreach (var w in new[] { a, b })
        {
            await w.RegisterAsync();
            await run.Join(w.WorkerId, null);
            w.Start();
        }

        var done = await Eventually.Until(run.GetView, v => v.State.IsTerminal(), what: "run ends");

        Assert.Equal(RunState.Finished, done.State);
        Assert.Equal(2, done.CommittedRounds);
        var path = (await run.GetTimeline()).Select(t => t.To).Distinct().ToList();
        Assert.Equal([RunState.Created, RunState.WaitingForMembers, RunState.Warmup, RunState.RoundTrain, RunState.RoundWitness,
            RunState.Cooldown, RunState.Finished], path);
        var rounds = await run.GetRounds();
        Assert.All(rounds, r => Assert.Equal(2, r.UpdatesAccepted));
        Assert.All(rounds, r => Assert.True(double.IsFinite(r.ValidationAccuracy)));
        Assert.NotEqual(rounds[0].ModelHash, rounds[1].ModelHash);

        var history = await _cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun("lifecycle")).GetPage(0, 100);
        Assert.Equal(10, history.Total); // 2 × (kit + echo) per member, then 2 rounds × (2 train + 1 witness)
        Assert.Equal(6, history.Items.Count(j => j.Kind is JobKind.Train or JobKind.Witness));
        Assert.All(history.Items, j => Assert.Equal(JobResult.Success, j.Result));
        var mine = await _cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForWorker("w-a")).GetPage(0, 100);
        Assert.All(mine.Items, j => Assert.Equal("w-a", j.WorkerId));
        Assert.Equal(history.Items.Count(j => j.WorkerId == "w-a"), mine.Total);
        Assert.Equal(mine.Items.Count(j => j.Result == JobResult.Success), (await a.Operator.GetView()).JobsDone);
    }

    [Fact]
    public async Task Worker_without_heartbeats_goes_offline_and_is_dropped_from_its_run()
    {
        var run = _cluster.Grains.GetGrain<IRunGrain>("offline");
        await run.Create(Specs.Quick() with { MinClients = 2 });
        await run.Start();
        var silent = new ScriptedWorker(_cluster.Grains, "w-silent");
        await silent.RegisterAsync();
        await run.Join(silent.WorkerId, null);
        await Eventually.Until(run.GetView, v => v.Members.Any(m => m.WorkerId == "w-silent" && m.Status == MemberStatus.Active));

        // The run's own membership message may still be on its way when the worker goes offline: both settle.
        var offline = await Eventually.Until(silent.Operator.GetView, v => v.Liveness == Liveness.Offline && v.Runs.Count == 0, TimeSpan.FromSeconds(20));

        Assert.Empty(offline.Runs);
        var member = (await run.GetView()).Members.Single(m => m.WorkerId == "w-silent");
        Assert.Equal(MemberStatus.Dropped, member.Status);
        Assert.Contains("no heartbeat", member.DropReason);
        var counts = await _cluster.Grains.GetGrain<IWorkerRegistryGrain>(0).Counts();
        Assert.Equal(1, counts.Offline);
    }

    [Fact]
    public async Task Bad_requests_get_specific_errors_and_change_nothing()
    {
        var unknownRun = await Assert.ThrowsAsync<RegattaException>(() => _cluster.Grains.GetGrain<IRunGrain>("nope").Join("w-1", null));
        Assert.Equal("unknown_run", unknownRun.Code);
        Assert.Equal(0, (await _cluster.Grains.GetGrain<IRunRegistryGrain>(0).List(0, 10)).Total);

        var stranger = await Assert.ThrowsAsync<RegattaException>(() => _cluster.Grains.GetGrain<IWorkerGrain>("ghost").Heartbeat(new Heartbeat()));
        Assert.Equal("unknown_worker", stranger.Code);

        var worker = new ScriptedWorker(_cluster.Grains, "w-twice");
        var first = await worker.RegisterAsync();
        var again = await worker.RegisterAsync(approve: false);
        Assert.Equal(first.RegisteredAt, again.RegisteredAt);
        Assert.Equal(ApprovalStatus.Approved, again.Approval);
        var twice = await Assert.ThrowsAsync<RegattaException>(() => worker.Operator.Approve());
        Assert.Equal("already_approved", twice.Code);

        var rejected = new ScriptedWorker(_cluster.Grains, "w-rejected");
        await rejected.RegisterAsync(approve: false);
        await rejected.Operator.Reject("untrusted");
        var beat = await Assert.ThrowsAsync<RegattaException>(() => rejected.Grain.Heartbeat(new Heartbeat()));
        Assert.Equal("rejected", beat.Code);

        var run = _cluster.Grains.GetGrain<IRunGrain>("strict");
        var invalid = await Assert.ThrowsAsync<RunSpecException>(() => run.Create(Specs.Quick() with { MinClients = 0, RoundDeadline = TimeSpan.Zero }));
        Assert.Contains(invalid.Errors, e => e.StartsWith("minClients:"));
        Assert.Contains(invalid.Errors, e => e.StartsWith("roundDeadline:"));
        var notCreated = await Assert.ThrowsAsync<RegattaException>(() => run.Start());
        Assert.Equal("unknown_run", notCreated.Code);
        await run.Create(Specs.Quick());
        var pending = new ScriptedWorker(_cluster.Grains, "w-pending");
        await pending.RegisterAsync(approve: false);
        var unapproved = await Assert.ThrowsAsync<RegattaException>(() => run.Join("w-pending", "wrong-token"));
        Assert.Equal("not_approved", unapproved.Code);
        Assert.Empty((await run.GetView()).Members);
        var restarted = await Assert.ThrowsAsync<RegattaException>(async () => { await run.Start(); await run.Start(); });
        Assert.Equal("invalid_state", restarted.Code);
        Assert.Equal(RunState.WaitingForMembers, (await run.GetView()).State);
    }

    [Fact]
    public async Task Join_token_admits_a_pending_worker_to_that_run_only()
    {
        var run = _cluster.Grains.GetGrain<IRunGrain>("tokened");
        var other = _cluster.Grains.GetGrain<IRunGrain>("untokened");
        await run.Create(Specs.Quick() with { JoinToken = "let-me-in-please" });
        await other.Create(Specs.Quick());
        var worker = new ScriptedWorker(_cluster.Grains, "w-token");
        await worker.RegisterAsync(approve: false);

        var wrong = await Assert.ThrowsAsync<RegattaException>(() => run.Join("w-token", "let-me-in-pleasE"));
        Assert.Equal("not_approved", wrong.Code);
        var joined = await run.Join("w-token", "let-me-in-please");

        Assert.True(joined.AutoApproved);
        Assert.Equal(MemberStatus.Pending, joined.Status);
        // Admitted to this run, not approved: the worker stays pending, and the token opens no other run.
        Assert.Equal(ApprovalStatus.Pending, (await worker.Operator.GetView()).Approval);
        var elsewhere = await Assert.ThrowsAsync<RegattaException>(() => other.Join("w-token", "let-me-in-please"));
        Assert.Equal("not_approved", elsewhere.Code);
        Assert.Null((await run.GetView()).Spec.JoinToken);
    }
}
