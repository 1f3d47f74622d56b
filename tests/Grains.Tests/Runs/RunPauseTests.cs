using Regatta.Grains.Runs;
using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>any --pause--> Paused --resume--> the state it left; paused time does not count against deadlines.</summary>
public class RunPauseTests
{
    [Fact]
    public void Pause_during_a_round_remembers_the_state_it_left()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");

        var effects = h.Do(r => r.Pause());

        Assert.Equal(RunState.Paused, h.State);
        Assert.Equal(RunState.RoundTrain, h.Data.PausedFrom);
        Assert.Equal(h.Now, h.Data.PausedAt);
        Assert.Empty(effects); // jobs stay open
        Assert.Equal(RunState.RoundTrain, h.Run.ToView().PausedFrom);
    }

    [Fact]
    public void Tick_does_nothing_while_paused_even_past_the_deadline()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.Run.Pause();
        h.Run.Join("w3");
        var before = h.Snap();

        h.Advance(h.Spec.RoundDeadline * 5);
        var effects = h.Tick();

        Assert.Empty(effects);
        Assert.Equal(before, h.Snap());
        Assert.Equal(["w3"], h.Data.PendingJoiners); // not even joiners are admitted
    }

    [Fact]
    public void Resume_restores_the_state_and_shifts_the_deadline_by_the_paused_time()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        var deadline = h.Round.Deadline;
        h.Advance(TimeSpan.FromSeconds(30));
        h.Run.Pause();
        var pausedFor = TimeSpan.FromMinutes(10);
        h.Advance(pausedFor);

        var effects = h.Do(r => r.Resume());

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Null(h.Data.PausedFrom);
        Assert.Null(h.Data.PausedAt);
        Assert.Equal(deadline + pausedFor, h.Round.Deadline);
        Assert.Equal((1, 1), (h.Data.Round, h.Data.Attempt));
        Assert.Empty(effects);
        Assert.Equal((RunState.Paused, RunState.RoundTrain), (h.Data.Timeline[^1].From, h.Data.Timeline[^1].To));

        // The round had 90 s left when paused; it still has 90 s now.
        h.Advance(TimeSpan.FromSeconds(89));
        h.Tick();
        Assert.Equal((RunState.RoundTrain, 1), (h.State, h.Data.Attempt));
        h.Advance(TimeSpan.FromSeconds(1));
        h.Tick();
        Assert.Equal((RunState.RoundTrain, 2), (h.State, h.Data.Attempt));
    }

    [Fact]
    public void Reports_arriving_while_paused_are_recorded_and_acted_on_at_resume()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.Run.Pause();

        var effects = h.ReportAllTrain();

        Assert.Empty(effects);
        Assert.Equal(RunState.Paused, h.State);
        Assert.Equal(["w1", "w2"], h.Round.Accepted.Select(a => a.WorkerId));

        effects = h.Do(r => r.Resume());

        Assert.Equal(RunState.RoundWitness, h.State);
        Assert.Equal([new AggregateRound(1, 1)], effects);
    }

    [Fact]
    public void A_refused_report_while_paused_is_recorded_too()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { MinClients = 3 });
        h.BeginFirstRound("w1", "w2", "w3");
        h.Run.Pause();

        h.RefuseTrain("w2", "unreadable update");

        Assert.Equal(RunState.Paused, h.State);
        Assert.Equal("unreadable update", Assert.Single(h.Round.Refused).Reason);
    }

    [Fact]
    public void Pause_in_warmup_shifts_the_end_of_warmup()
    {
        var h = new RunHarness();
        h.Start();
        h.Admit("w1", "w2");
        var warmupEnds = h.Data.PhaseEndsAt;
        h.Run.Pause();
        h.Advance(TimeSpan.FromMinutes(3));

        h.Run.Resume();

        Assert.Equal(RunState.Warmup, h.State);
        Assert.Equal(warmupEnds + TimeSpan.FromMinutes(3), h.Data.PhaseEndsAt);
        h.Advance(h.Spec.Warmup - TimeSpan.FromMilliseconds(1));
        h.Tick();
        Assert.Equal(RunState.Warmup, h.State);
        h.Advance(TimeSpan.FromMilliseconds(1));
        h.Tick();
        Assert.Equal(RunState.RoundTrain, h.State);
    }

    [Fact]
    public void Pause_while_witnessing_shifts_the_witness_deadline()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateReady();
        var witnessDeadline = h.Round.WitnessDeadline;
        h.Run.Pause();
        h.Advance(h.Spec.WitnessDeadline * 3);
        Assert.Empty(h.Tick());

        h.Run.Resume();

        Assert.Equal(RunState.RoundWitness, h.State);
        Assert.Equal(witnessDeadline + h.Spec.WitnessDeadline * 3, h.Round.WitnessDeadline);
        Assert.Equal(1, h.Data.Attempt);
    }

    [Fact]
    public void An_attestation_while_paused_is_recorded_and_commits_at_resume()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateReady("cand-1");
        h.Run.Pause();

        h.Attest(h.Round.Witnesses[0]);

        Assert.Equal(RunState.Paused, h.State);
        Assert.Single(h.Round.Attestations);
        Assert.Empty(h.Data.History);

        var effects = h.Do(r => r.Resume());

        Assert.Equal(RunState.Cooldown, h.State);
        Assert.Equal("cand-1", h.Data.GlobalModelHash);
        Assert.Single(effects.OfType<RoundCommitted>());
    }

    [Fact]
    public void A_candidate_arriving_while_paused_is_set_aside_until_resume()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.Run.Pause();

        h.CandidateReady("cand-1");

        // Nothing moves while paused: no witnesses are asked; the grain aggregates again once resumed.
        Assert.Equal(RunState.Paused, h.State);
        Assert.Null(h.Round.CandidateHash);
        Assert.Empty(h.Round.WitnessJobs);
        h.Run.Resume();
        Assert.Equal(RunState.RoundWitness, h.State);
        Assert.Null(h.Round.CandidateHash);
    }

    /// <summary>
    /// DESIGN.md: Paused --resume--> the state it left. An unusable aggregate reported while the run is paused must
    /// not take the run out of Paused (nor open the next attempt's jobs while paused).
    /// </summary>
    [Fact]
    public void An_unusable_candidate_arriving_while_paused_leaves_the_run_paused()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.Run.Pause();

        h.CandidateRefused("aggregate contains NaN");

        Assert.Equal(RunState.Paused, h.State);
        Assert.NotNull(h.Data.PausedFrom);
        h.Run.Resume(); // must still be possible
        Assert.NotEqual(RunState.Paused, h.State);
        Assert.Null(h.Data.PausedFrom);
    }

    [Fact]
    public void Pause_then_resume_from_waiting_for_members_admits_joiners_at_the_next_tick()
    {
        var h = new RunHarness();
        h.Start();
        h.Run.Pause();
        h.Run.Join("w1");
        h.Run.Join("w2");
        h.Tick();
        Assert.Empty(h.Data.Members);

        h.Run.Resume();
        Assert.Equal(RunState.WaitingForMembers, h.State);
        h.Tick();

        Assert.Equal(RunState.Warmup, h.State);
    }

    [Fact]
    public void Pause_before_start_resumes_to_created()
    {
        var h = new RunHarness();
        h.Run.Pause();
        Assert.Equal(RunState.Created, h.Data.PausedFrom);

        h.Run.Resume();

        Assert.Equal(RunState.Created, h.State);
        h.Run.Start();
        Assert.Equal(RunState.WaitingForMembers, h.State);
    }

    [Fact]
    public void Pause_in_cooldown_shifts_the_end_of_cooldown()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.CommitRound();
        var ends = h.Data.PhaseEndsAt;
        h.Run.Pause();
        h.Advance(TimeSpan.FromMinutes(1));
        h.Run.Resume();

        Assert.Equal(ends + TimeSpan.FromMinutes(1), h.Data.PhaseEndsAt);
        h.Advance(h.Spec.Cooldown);
        h.Tick();
        Assert.Equal((RunState.RoundTrain, 2), (h.State, h.Data.Round));
    }

    [Fact]
    public void Pausing_twice_is_refused()
    {
        var h = new RunHarness();
        h.Start();
        h.Run.Pause();
        var before = h.Snap();

        Assert.Equal("invalid_state", Assert.Throws<RegattaException>(h.Run.Pause).Code);
        Assert.Equal(before, h.Snap());
        Assert.Equal(RunState.WaitingForMembers, h.Data.PausedFrom);
    }

    [Fact]
    public void Resuming_a_run_that_is_not_paused_is_refused()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        var before = h.Snap();

        Assert.Equal("invalid_state", Assert.Throws<RegattaException>(h.Run.Resume).Code);
        Assert.Equal(before, h.Snap());
    }

    [Fact]
    public void Pausing_a_terminal_run_is_refused()
    {
        var h = new RunHarness();
        h.Start();
        h.Run.Cancel("done");

        Assert.Equal("invalid_state", Assert.Throws<RegattaException>(h.Run.Pause).Code);
        Assert.Equal(RunState.Cancelled, h.State);
    }
}
