using Regatta.Grains.Runs;
using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>Members leaving mid-run: the round goes on without them, or the run waits for members again.</summary>
public class RunMemberDropTests
{
    [Fact]
    public void A_member_dropping_mid_round_has_its_job_closed_and_the_round_closes_with_the_others()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2", "w3");
        var job3 = h.Round.TrainJobs["w3"];
        h.ReportTrain("w1");

        var effects = h.Do(r => r.Drop("w3", "went offline"));

        Assert.Equal(RunState.RoundTrain, h.State); // w2 has not reported yet
        var member = h.Data.Members["w3"];
        Assert.Equal(MemberStatus.Dropped, member.Status);
        Assert.Equal("went offline", member.DropReason);
        Assert.Contains(new MembershipChanged("w3", false), effects);
        var close = Assert.Single(effects.Closed());
        Assert.Equal((job3, JobResult.Cancelled), (close.JobId, close.Result));
        Assert.Contains("went offline", close.Reason);

        effects = h.ReportTrain("w2");

        Assert.Equal(RunState.RoundWitness, h.State);
        Assert.Equal([new AggregateRound(1, 1)], effects);
        Assert.Equal(["w1", "w2"], h.Round.Accepted.Select(a => a.WorkerId));
    }

    [Fact]
    public void Dropping_the_last_member_still_awaited_closes_the_round()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2", "w3");
        h.ReportTrain("w1");
        h.ReportTrain("w2");

        var effects = h.Do(r => r.Drop("w3", "left"));

        Assert.Equal(RunState.RoundWitness, h.State);
        Assert.Contains(new AggregateRound(1, 1), effects);
    }

    [Fact]
    public void A_member_who_already_reported_keeps_its_update_when_it_drops()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2", "w3");
        h.ReportTrain("w3");

        var effects = h.Do(r => r.Drop("w3", "left"));

        Assert.Empty(effects.Closed());
        Assert.Equal(["w3"], h.Round.Accepted.Select(a => a.WorkerId));
    }

    [Fact]
    public void A_report_from_a_dropped_member_is_ignored()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2", "w3");
        var job = h.Round.TrainJobs["w3"];
        h.Run.Drop("w3", "left");
        h.Effects();
        var before = h.Snap();

        Assert.False(h.Run.TrainReported("w3", job, new AcceptedUpdate("w3", job, "u", 10, 1), null));

        Assert.Equal(before, h.Snap());
        Assert.Empty(h.Effects());
    }

    [Fact]
    public void A_dropped_witness_counts_as_disagreeing_and_its_job_is_closed()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2", "w3");
        h.ReportAllTrain();
        h.CandidateReady();
        var round = h.Round;
        var witness = Assert.Single(round.Witnesses);
        var witnessJob = round.WitnessJobs[witness];

        var effects = h.Do(r => r.Drop(witness, "went offline"));

        var close = Assert.Single(effects.Closed());
        Assert.Equal((witnessJob, JobResult.Cancelled), (close.JobId, close.Result));
        Assert.False(Assert.Single(round.Attestations).Agrees);
        // The only witness is gone: quorum is impossible and the round is retried with the two members left.
        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal(2, h.Data.Attempt);
        Assert.Equal(2, h.Round.Selected.Count);
        Assert.DoesNotContain(witness, h.Round.Selected);
    }

    [Fact]
    public void Members_falling_below_min_clients_send_the_run_back_to_waiting_with_its_jobs_closed()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { MinClients = 2 });
        h.BeginFirstRound("w1", "w2");
        var jobs = h.Round.TrainJobs.Values.ToHashSet();

        var effects = h.Do(r => r.Drop("w2", "went offline"));

        Assert.Equal(RunState.WaitingForMembers, h.State);
        Assert.Null(h.Data.Current);
        Assert.Equal(1, h.Data.Round); // the round is not lost, only paused for members
        Assert.Equal(jobs, effects.ClosedIds());
        Assert.All(effects.Closed(), c => Assert.Equal(JobResult.Cancelled, c.Result));
        Assert.Empty(effects.Opened());
        Assert.Contains("fell", h.Data.Timeline[^1].Reason);
    }

    [Theory]
    [InlineData(RunState.Warmup)]
    [InlineData(RunState.RoundWitness)]
    [InlineData(RunState.Cooldown)]
    public void Members_falling_below_min_clients_in_any_active_phase_go_back_to_waiting(RunState phase)
    {
        var h = new RunHarness();
        h.Start();
        h.Admit("w1", "w2");
        if (phase != RunState.Warmup)
        {
            h.Advance(h.Spec.Warmup);
            h.Tick();
            h.ReportAllTrain();
            h.CandidateReady();
            if (phase == RunState.Cooldown) h.Attest(h.Round.Witnesses[0]);
        }
        Assert.Equal(phase, h.State);
        var open = h.OpenJobIds();

        var effects = h.Do(r => r.Drop("w1", "left"));

        Assert.Equal(RunState.WaitingForMembers, h.State);
        Assert.Equal(open, effects.ClosedIds());
        Assert.Null(h.Data.Current);
    }

    [Fact]
    public void Members_falling_away_after_the_last_round_is_committed_do_not_hold_the_run_back()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Rounds = 1 });
        h.Start();
        h.Admit("w1", "w2");
        h.Advance(h.Spec.Warmup);
        h.Tick();
        h.ReportAllTrain();
        h.CandidateReady();
        h.Attest(h.Round.Witnesses[0]);
        Assert.Equal(RunState.Cooldown, h.State);

        h.Do(r => r.Drop("w1", "left"));
        Assert.Equal(RunState.Cooldown, h.State); // not back to WaitingForMembers: no round is left to train
        h.Advance(h.Spec.Cooldown);
        h.Tick();

        Assert.Equal(RunState.Finished, h.State);
        Assert.Equal(1, h.Data.History.Count);
    }

    [Fact]
    public void Rejoining_after_the_drop_warms_up_again_and_resumes_the_same_round()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.CommitRoundAndCooldown();
        Assert.Equal((RunState.RoundTrain, 2), (h.State, h.Data.Round));
        var partition = h.Data.Members["w2"].Partition;
        h.Run.Drop("w2", "went offline");
        Assert.Equal(RunState.WaitingForMembers, h.State);

        Assert.Equal(MemberStatus.Pending, h.Run.Join("w2"));
        var effects = h.Tick();

        Assert.Equal(RunState.Warmup, h.State);
        Assert.Contains(new MembershipChanged("w2", true), effects);
        Assert.Equal(MemberStatus.Active, h.Data.Members["w2"].Status);
        Assert.Equal(partition, h.Data.Members["w2"].Partition); // a returning member keeps its data partition

        h.Advance(h.Spec.Warmup);
        effects = h.Tick();

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal(2, h.Data.Round);
        Assert.Equal(2, h.Round.Round);
        var opened = effects.Opened(JobKind.Train);
        Assert.Equal(["w1", "w2"], opened.Select(o => o.WorkerId).Order());
        Assert.All(opened, o => Assert.Equal(RunHarness.Candidate(1), o.ModelHash)); // from the committed round 1
        Assert.Single(h.Data.History);
    }

    /// <summary>
    /// A closed job stays closed (JobGrain.Open is idempotent by id and returns the existing, closed record), so the
    /// jobs of a resumed round must not reuse the ids of the jobs that were closed when members fell below minClients.
    /// </summary>
    [Fact]
    public void A_round_resumed_after_members_return_opens_jobs_with_ids_not_used_before()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        var closed = h.Do(r => r.Drop("w2", "went offline")).ClosedIds();
        Assert.Equal(2, closed.Count);
        h.Run.Join("w2");
        h.Tick();
        h.Advance(h.Spec.Warmup);

        var opened = h.Tick().Opened(JobKind.Train);

        Assert.Equal(2, opened.Count);
        Assert.Empty(opened.Select(o => o.JobId).Intersect(closed));
    }

    /// <summary>A round that committed is never trained again: members lost during its cooldown come back to the next round.</summary>
    [Fact]
    public void Members_lost_during_cooldown_come_back_to_the_next_round_not_the_committed_one()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Rounds = 3 });
        h.BeginFirstRound("w1", "w2");
        h.CommitRound();
        Assert.Equal(RunState.Cooldown, h.State);
        h.Run.Drop("w2", "went offline");
        Assert.Equal(RunState.WaitingForMembers, h.State);
        h.Run.Join("w2");
        h.Tick();
        h.Advance(h.Spec.Warmup);

        var effects = h.Tick();

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal(2, h.Round.Round);
        Assert.All(effects.Opened(JobKind.Train), o => Assert.Equal(2, o.Round));
        h.CommitRound();
        Assert.Equal([1, 2], h.Data.History.Select(r => r.Round));
    }

    [Fact]
    public void Dropping_a_pending_joiner_forgets_it()
    {
        var h = new RunHarness();
        h.Start();
        h.Run.Join("w1");

        var effects = h.Do(r => r.Drop("w1", "changed its mind"));

        Assert.Empty(h.Data.PendingJoiners);
        Assert.Empty(effects);
        h.Tick();
        Assert.Empty(h.Data.Members);
    }

    [Fact]
    public void Dropping_an_unknown_or_already_dropped_worker_changes_nothing()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2", "w3");
        h.Run.Drop("w3", "left");
        h.Effects();
        var before = h.Snap();

        var effects = h.Do(r => r.Drop("nobody", "?"));
        effects.AddRange(h.Do(r => r.Drop("w3", "again")));

        Assert.Empty(effects);
        Assert.Equal(before, h.Snap());
        Assert.Equal("left", h.Data.Members["w3"].DropReason);
    }

    [Fact]
    public void A_drop_while_paused_is_recorded_and_acted_on_at_resume()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.Run.Pause();

        var effects = h.Do(r => r.Drop("w2", "went offline"));

        Assert.Equal(RunState.Paused, h.State);
        Assert.Single(effects.Closed()); // its own job closes at once
        Assert.Equal(MemberStatus.Dropped, h.Data.Members["w2"].Status);

        h.Run.Resume();

        Assert.Equal(RunState.WaitingForMembers, h.State);
    }
}
