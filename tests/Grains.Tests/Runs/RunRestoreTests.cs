using Regatta.Grains.Runs;
using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>Restore: the last checkpoint (or the one named) becomes the global model and rounds resume after it.</summary>
public class RunRestoreTests
{
    /// <summary>Rounds 1–3 commit (checkpoints after rounds 2 only, every 2), round 4 fails on its only attempt.</summary>
    private static RunHarness FailedAfterThreeRounds()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Rounds = 6, CheckpointEvery = 2, MaxRoundAttempts = 1 });
        h.BeginFirstRound("w1", "w2");
        h.CommitRoundAndCooldown();
        h.CommitRoundAndCooldown();
        h.CommitRoundAndCooldown();
        Assert.Equal((RunState.RoundTrain, 4), (h.State, h.Data.Round));
        h.PassRoundDeadline();
        Assert.Equal(RunState.Failed, h.State);
        Assert.Equal([2], h.Data.Checkpoints.Select(c => c.Round));
        h.Effects();
        return h;
    }

    [Fact]
    public void Restore_without_a_checkpoint_is_refused()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        var before = h.Snap();

        var e = Assert.Throws<RegattaException>(() => h.Run.Restore());

        Assert.Equal("no_checkpoint", e.Code);
        Assert.Equal(before, h.Snap());
        Assert.Empty(h.Effects());
    }

    [Fact]
    public void Restore_of_an_unknown_run_is_refused()
    {
        var run = new RunLifecycle(new RunData { RunId = "ghost" }, TimeProvider.System);

        Assert.Equal("unknown_run", Assert.Throws<RegattaException>(() => run.Restore()).Code);
    }

    [Fact]
    public void Restore_takes_the_last_checkpoint_as_the_global_model_and_waits_for_members()
    {
        var h = FailedAfterThreeRounds();

        var effects = h.Do(r => r.Restore());

        Assert.Equal(RunState.WaitingForMembers, h.State);
        Assert.Equal(RunHarness.Candidate(2), h.Data.GlobalModelHash);
        Assert.Null(h.Data.FailureReason);
        Assert.Null(h.Data.Current);
        Assert.Null(h.Data.PausedFrom);
        Assert.Equal([1, 2], h.Data.History.Select(r => r.Round)); // round 3 was never checkpointed
        Assert.Empty(effects); // the failed round's jobs were closed when it failed
        Assert.Contains("round 2", h.Data.Timeline[^1].Reason);
    }

    [Fact]
    public void After_restore_rounds_resume_after_the_checkpointed_round()
    {
        var h = FailedAfterThreeRounds();
        h.Run.Restore();
        h.Effects();

        h.Tick(); // the members are still active: warmup
        Assert.Equal(RunState.Warmup, h.State);
        h.Advance(h.Spec.Warmup);
        var effects = h.Tick();

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal(3, h.Round.Round); // the round after the checkpoint of round 2, not round 2 again
        Assert.Equal(1, h.Round.Attempt);
        Assert.All(effects.Opened(JobKind.Train), o =>
        {
            Assert.Equal(3, o.Round);
            Assert.Equal(RunHarness.Candidate(2), o.ModelHash);
        });

        h.CommitRound();
        Assert.Equal([1, 2, 3], h.Data.History.Select(r => r.Round)); // one record per round
    }

    /// <summary>
    /// Jobs of the rounds trained before the restore were closed; a closed JobGrain stays closed (Open is idempotent by
    /// id), so the rounds trained after the restore must open jobs under ids that were never used.
    /// </summary>
    [Fact]
    public void After_restore_the_jobs_opened_have_ids_never_used_before()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Rounds = 6, CheckpointEvery = 2, MaxRoundAttempts = 1 });
        var used = new HashSet<string>();
        void Track(List<RunEffect> effects) => used.UnionWith(effects.Opened().Select(o => o.JobId));
        Track(h.BeginFirstRound("w1", "w2"));
        Track(h.CommitRoundAndCooldown());
        Track(h.CommitRoundAndCooldown());
        Track(h.CommitRoundAndCooldown());
        Track(h.PassRoundDeadline());
        Assert.Equal(RunState.Failed, h.State);
        h.Run.Restore();
        h.Tick();
        h.Advance(h.Spec.Warmup);

        var opened = h.Tick().Opened();

        Assert.NotEmpty(opened);
        Assert.Empty(opened.Select(o => o.JobId).Intersect(used));
    }

    [Fact]
    public void Restore_of_an_active_round_closes_its_open_jobs()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2", "w3");
        h.CommitRoundAndCooldown();
        h.ReportTrain("w1");
        var open = h.OpenJobIds();
        Assert.Equal(2, open.Count);

        var effects = h.Do(r => r.Restore());

        Assert.Equal(RunState.WaitingForMembers, h.State);
        Assert.Equal(RunHarness.Candidate(1), h.Data.GlobalModelHash);
        Assert.Equal(open, effects.ClosedIds());
        Assert.All(effects.Closed(), c => Assert.Equal(JobResult.Cancelled, c.Result));
    }

    [Fact]
    public void Restore_of_a_paused_run_leaves_paused()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.CommitRound();
        h.Run.Pause();

        h.Run.Restore();

        Assert.Equal(RunState.WaitingForMembers, h.State);
        Assert.Null(h.Data.PausedFrom);
    }

    [Fact]
    public void Restore_of_a_named_round_rolls_back_to_it_and_drops_the_later_rounds_and_checkpoints()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Rounds = 6 });
        h.BeginFirstRound("w1", "w2");
        h.CommitRoundAndCooldown();
        h.CommitRoundAndCooldown();
        h.CommitRoundAndCooldown();
        Assert.Equal([1, 2, 3], h.Data.Checkpoints.Select(c => c.Round));

        h.Do(r => r.Restore(1));

        Assert.Equal(RunState.WaitingForMembers, h.State);
        Assert.Equal(RunHarness.Candidate(1), h.Data.GlobalModelHash);
        Assert.Equal([1], h.Data.Checkpoints.Select(c => c.Round));
        Assert.Equal([1], h.Data.History.Select(r => r.Round));
        Assert.Equal(1, h.Data.Round);
        Assert.Contains("round 1", h.Data.Timeline[^1].Reason);
    }

    [Fact]
    public void Restore_of_a_round_without_a_checkpoint_is_refused_naming_the_rounds_that_have_one()
    {
        var h = FailedAfterThreeRounds();
        var before = h.Snap();

        var e = Assert.Throws<RegattaException>(() => h.Run.Restore(3));

        Assert.Equal("no_checkpoint", e.Code);
        Assert.Contains("round 3", e.Message);
        Assert.Contains("rounds 2", e.Message);
        Assert.Equal(before, h.Snap());
    }
}
