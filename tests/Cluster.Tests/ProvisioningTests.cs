using Regatta.Jobs;
using Regatta.Models;
using Regatta.Runs;

namespace Regatta.Tests;

/// <summary>Start Run publishes a run kit; every member confirms it and answers an echo before its first round.</summary>
public sealed class ProvisioningTests : IAsyncLifetime
{
    private RegattaCluster _cluster = null!;

    public async ValueTask InitializeAsync() => _cluster = await RegattaCluster.StartAsync();
    public async ValueTask DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task A_member_that_never_answers_the_echo_is_dropped_before_round_1_and_the_run_proceeds()
    {
        var run = _cluster.Grains.GetGrain<IRunGrain>("echoes");
        // Warmup outlasts the joins below even on a loaded machine: all three are members before round 1 can open.
        await run.Create(Specs.Quick(rounds: 1) with { ProvisionTimeout = TimeSpan.FromSeconds(3), Warmup = TimeSpan.FromSeconds(6) });
        var started = await run.Start();
        await using var a = new ScriptedWorker(_cluster.Grains, "w-a");
        await using var b = new ScriptedWorker(_cluster.Grains, "w-b");
        await using var mute = new ScriptedWorker(_cluster.Grains, "w-mute") { Answers = kind => kind != JobKind.Echo };
        foreach (var w in new[] { a, b, mute })
        {
            await w.RegisterAsync();
            await run.Join(w.WorkerId, null);
            w.Start();
        }

        var end = await Eventually.Until(run.GetView, v => v.State.IsTerminal(), what: "run ends");

        Assert.Equal(RunState.Finished, end.State);
        var dropped = end.Members.Single(m => m.WorkerId == "w-mute");
        Assert.Equal(MemberStatus.Dropped, dropped.Status);
        Assert.Contains("connectivity echo", dropped.DropReason);
        Assert.True(dropped.KitConfirmed);
        Assert.All(end.Members.Where(m => m.WorkerId != "w-mute"), m => Assert.True(m.KitConfirmed && m.Reachable));
        var round = (await run.GetRounds()).Single();
        Assert.DoesNotContain("w-mute", round.Selected);
        Assert.Contains(await run.GetReports(), r => r.Source == "w-mute" && r.Message.Contains("echo"));

        // The kit is a content-addressed blob naming the initial model; each member confirmed it through one job.
        var kit = RunKit.FromBytes(await ScriptedWorker.Download(_cluster.Grains, started.KitHash!));
        Assert.Equal("echoes", kit.RunId);
        Assert.Equal(started.GlobalModelHash, kit.InitialModelHash);
        Assert.Equal(started.Spec.Model.Name, RunSpecYaml.Parse(kit.SpecYaml).Model.Name);
        var jobs = await _cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun("echoes")).GetPage(0, 100);
        var provisions = jobs.Items.Where(j => j.Kind == JobKind.Provision).ToList();
        Assert.Equal(3, provisions.Count);
        Assert.All(provisions, p => Assert.Equal(JobResult.Success, p.Result));
        Assert.Equal(JobResult.Timeout, jobs.Items.Single(j => j.Kind == JobKind.Echo && j.WorkerId == "w-mute").Result);
    }

    [Fact]
    public async Task Rounds_wait_for_members_to_confirm_the_kit()
    {
        var run = _cluster.Grains.GetGrain<IRunGrain>("patient");
        await run.Create(Specs.Quick(rounds: 1) with { ProvisionTimeout = TimeSpan.FromMinutes(5) });
        await run.Start();
        await using var a = new ScriptedWorker(_cluster.Grains, "w-a");
        await using var slow = new ScriptedWorker(_cluster.Grains, "w-slow") { Answers = kind => kind != JobKind.Provision };
        foreach (var w in new[] { a, slow })
        {
            await w.RegisterAsync();
            await run.Join(w.WorkerId, null);
            w.Start();
        }
        var warm = await Eventually.Until(run.GetView, v => v.State == RunState.Warmup && v.Members.Count(m => m.Reachable) == 2, what: "both echo");
        var warmupEnds = DateTimeOffset.UtcNow + warm.Spec.Warmup + TimeSpan.FromSeconds(1);
        await Eventually.Until(() => Task.FromResult(DateTimeOffset.UtcNow), now => now > warmupEnds);

        Assert.Equal(RunState.Warmup, (await run.GetView()).State); // the warmup is over, but w-slow has no kit yet

        slow.Answers = _ => true;
        var view = await run.GetView();
        var history = await _cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForWorker("w-slow")).GetPage(0, 10);
        var pending = Assert.Single(history.Items, j => j.Kind == JobKind.Provision);
        Assert.Equal((view.RunId + ".provision.2.w-slow", JobStatus.Opened), (pending.JobId, pending.Status));
        await slow.Grain.Complete(pending.JobId, new JobOutcome { Succeeded = true, OutputHash = view.KitHash });
        var end = await Eventually.Until(run.GetView, v => v.State.IsTerminal(), what: "run ends");
        Assert.Equal(RunState.Finished, end.State);
        Assert.Equal(2, (await run.GetRounds()).Single().UpdatesAccepted);
    }
}
