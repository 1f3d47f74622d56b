using Regatta.Grains.Runs;
using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>The happy path of a round: RoundTrain → RoundWitness → Cooldown → next round | Finished.</summary>
public class RunRoundTests
{
    [Fact]
    public void The_round_keeps_training_until_every_selected_client_has_reported()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2", "w3");

        var effects = h.ReportTrain("w1");
        effects.AddRange(h.ReportTrain("w2"));

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Empty(effects);
        Assert.Equal(["w1", "w2"], h.Round.Accepted.Select(a => a.WorkerId));
    }

    [Fact]
    public void All_selected_reporting_moves_to_witness_and_asks_for_aggregation()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2", "w3");
        h.ReportTrain("w1");
        h.ReportTrain("w2");

        var effects = h.ReportTrain("w3");

        Assert.Equal(RunState.RoundWitness, h.State);
        Assert.Equal([new AggregateRound(1, 1)], effects);
        Assert.Equal(3, h.Round.Accepted.Count);
        Assert.Null(h.Round.CandidateHash);
        Assert.Empty(h.Round.WitnessJobs);
    }

    [Fact]
    public void Witness_state_waits_for_the_candidate_however_long_aggregation_takes()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();

        h.Advance(TimeSpan.FromHours(1));
        var effects = h.Tick();

        Assert.Equal(RunState.RoundWitness, h.State);
        Assert.Empty(effects);
    }

    [Fact]
    public void Candidate_ready_selects_witnesses_and_opens_their_jobs()
    {
        var spec = RunHarness.DefaultSpec with
        {
            Selection = new SelectionSpec { Strategy = SelectionStrategy.RandomK, K = 2 },
            Witnesses = new WitnessSpec { Count = 2, Quorum = 2 },
        };
        var h = new RunHarness(spec);
        h.BeginFirstRound("w1", "w2", "w3", "w4");
        h.ReportAllTrain();
        var readyAt = h.Now;

        var effects = h.CandidateReady("cand-1", validationLoss: 0.4, validationAccuracy: 0.9);

        var round = h.Round;
        Assert.Equal(RunState.RoundWitness, h.State);
        Assert.Equal("cand-1", round.CandidateHash);
        Assert.Equal(readyAt + spec.WitnessDeadline, round.WitnessDeadline);
        Assert.Equal((0.4, 0.9), (round.ValidationLoss, round.ValidationAccuracy));
        // Four members, two trained: both witnesses are the two who did not train.
        Assert.Equal(new[] { "w1", "w2", "w3", "w4" }.Except(round.Selected).Order(), round.Witnesses);
        Assert.Equal(Selection.SelectWitnesses(["w1", "w2", "w3", "w4"], round.Selected, 2, spec.Seed, 1, 1), round.Witnesses);

        var opened = effects.Opened();
        Assert.Equal(round.Witnesses, opened.Select(o => o.WorkerId).Order());
        Assert.Equal(2, opened.Select(o => o.JobId).Distinct().Count());
        Assert.Empty(opened.Select(o => o.JobId).Intersect(round.TrainJobs.Values));
        Assert.All(opened, o =>
        {
            Assert.Equal(JobKind.Witness, o.Kind);
            Assert.Equal((1, 1), (o.Round, o.Attempt));
            Assert.Equal("cand-1", o.ModelHash);
            Assert.Equal(RunHarness.InitialModel, o.BaseModelHash);
            Assert.Equal(readyAt + spec.WitnessDeadline, o.Deadline);
            Assert.Equal(h.Data.Members[o.WorkerId].Partition, o.Partition);
            Assert.Equal(round.WitnessJobs[o.WorkerId], o.JobId);
        });
    }

    [Fact]
    public void With_every_member_training_the_witness_is_drawn_from_the_trainers()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();

        h.CandidateReady();

        var witness = Assert.Single(h.Round.Witnesses);
        Assert.Contains(witness, h.Round.Selected);
    }

    [Fact]
    public void Witness_quorum_commits_the_round_with_its_metrics()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2", "w3");
        var startedAt = h.Round.StartedAt;
        h.ReportTrain("w1", loss: 1.0);
        h.ReportTrain("w2", loss: 2.0);
        h.ReportTrain("w3", loss: 3.0);
        h.CandidateReady("cand-1", validationLoss: 0.4, validationAccuracy: 0.9);
        var witness = Assert.Single(h.Round.Witnesses);
        h.Advance(TimeSpan.FromSeconds(30));

        var effects = h.Attest(witness, "cand-1", loss: 0.5, accuracy: 0.8, baseLoss: 1.0);

        Assert.Equal(RunState.Cooldown, h.State);
        Assert.Null(h.Data.Current);
        Assert.Equal("cand-1", h.Data.GlobalModelHash);
        Assert.Equal(h.Now + h.Spec.Cooldown, h.Data.PhaseEndsAt);

        var record = Assert.Single(h.Data.History);
        Assert.Equal(1, record.Round);
        Assert.Equal(1, record.Attempts);
        Assert.Equal(["w1", "w2", "w3"], record.Selected);
        Assert.Equal([witness], record.Witnesses);
        Assert.Equal(3, record.UpdatesAccepted);
        Assert.Equal(0, record.UpdatesRefused);
        Assert.Empty(record.RefusalReasons);
        Assert.Equal(startedAt, record.StartedAt);
        Assert.Equal(h.Now, record.EndedAt);
        Assert.Equal("cand-1", record.ModelHash);
        Assert.Equal(2.0, record.TrainLoss, 12);
        Assert.Equal(0.5, record.WitnessLoss, 12);
        Assert.Equal(0.8, record.WitnessAccuracy, 12);
        Assert.Equal(0.4, record.ValidationLoss, 12);
        Assert.Equal(0.9, record.ValidationAccuracy, 12);

        Assert.Equal([new Checkpoint(1, "cand-1", h.Now)], h.Data.Checkpoints);
        var committed = Assert.Single(effects.OfType<RoundCommitted>());
        Assert.Same(record, committed.Record);
        Assert.Empty(effects.Closed()); // the only witness attested: nothing left open

        var view = h.Run.ToView();
        Assert.Equal(1, view.CommittedRounds);
        Assert.Equal(0.9, view.Accuracy, 12);
        Assert.Equal(0.4, view.Loss, 12);
    }

    [Fact]
    public void Quorum_counts_agreeing_witnesses_and_the_rest_are_closed_when_it_is_reached()
    {
        var spec = RunHarness.DefaultSpec with
        {
            Selection = new SelectionSpec { Strategy = SelectionStrategy.RandomK, K = 2 },
            Witnesses = new WitnessSpec { Count = 3, Quorum = 2, LossTolerance = 0.5 },
        };
        var h = new RunHarness(spec);
        h.BeginFirstRound("w1", "w2", "w3", "w4", "w5");
        h.ReportAllTrain();
        h.CandidateReady("cand-1");
        var witnesses = h.Round.Witnesses;
        Assert.Equal(3, witnesses.Count);
        Assert.Empty(witnesses.Intersect(h.Round.Selected));
        var lastJob = h.Round.WitnessJobs[witnesses[2]];

        h.Attest(witnesses[0], loss: 0.6, accuracy: 0.7);
        Assert.Equal(RunState.RoundWitness, h.State); // 1 of 2

        var effects = h.Attest(witnesses[1], loss: 0.4, accuracy: 0.9);

        Assert.Equal(RunState.Cooldown, h.State);
        var close = Assert.Single(effects.Closed());
        Assert.Equal(lastJob, close.JobId);
        Assert.Equal(JobResult.Cancelled, close.Result);
        var record = h.Data.History[^1];
        Assert.Equal(0.5, record.WitnessLoss, 12);     // mean of the agreeing witnesses
        Assert.Equal(0.8, record.WitnessAccuracy, 12);
        Assert.Equal(witnesses, record.Witnesses);
    }

    [Fact]
    public void With_no_witnesses_the_candidate_commits_at_once()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Witnesses = new WitnessSpec { Count = 0, Quorum = 0 } });
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();

        var effects = h.CandidateReady("cand-1");

        Assert.Equal(RunState.Cooldown, h.State);
        Assert.Empty(effects.Opened());
        Assert.Equal("cand-1", h.Data.GlobalModelHash);
        Assert.Empty(h.Data.History[^1].Witnesses);
    }

    [Fact]
    public void Cooldown_ends_on_time_and_the_next_round_trains_on_the_new_global_model()
    {
        var h = new RunHarness();
        var firstJobs = h.BeginFirstRound("w1", "w2").Opened().Select(o => o.JobId).ToList();
        h.CommitRound();
        var committed = h.Data.GlobalModelHash;

        h.Advance(h.Spec.Cooldown - TimeSpan.FromMilliseconds(1));
        Assert.Empty(h.Tick());
        Assert.Equal(RunState.Cooldown, h.State);

        h.Advance(TimeSpan.FromMilliseconds(1));
        var effects = h.Tick();

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal((2, 1), (h.Data.Round, h.Data.Attempt));
        Assert.Equal((2, 1), (h.Round.Round, h.Round.Attempt));
        var opened = effects.Opened(JobKind.Train);
        Assert.Equal(2, opened.Count);
        Assert.All(opened, o =>
        {
            Assert.Equal(committed, o.ModelHash);
            Assert.Equal((2, 1), (o.Round, o.Attempt));
            Assert.Equal(h.Now + h.Spec.RoundDeadline, o.Deadline);
        });
        Assert.Empty(opened.Select(o => o.JobId).Intersect(firstJobs));
    }

    [Fact]
    public void Without_cooldown_the_next_round_begins_as_the_round_commits()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Cooldown = TimeSpan.Zero });
        h.BeginFirstRound("w1", "w2");

        var effects = h.CommitRound();

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal(2, h.Data.Round);
        Assert.Single(effects.OfType<RoundCommitted>());
        Assert.Equal(2, effects.Opened(JobKind.Train).Count(o => o.Round == 2));
    }

    [Fact]
    public void After_the_last_round_the_run_finishes()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Rounds = 3 });
        h.BeginFirstRound("w1", "w2");

        var effects = h.CommitRoundAndCooldown();
        Assert.Equal(2, h.Data.Round);
        effects = h.CommitRoundAndCooldown();
        Assert.Equal(3, h.Data.Round);
        Assert.Equal(RunState.RoundTrain, h.State);

        h.CommitRound();
        Assert.Equal(RunState.Cooldown, h.State);
        h.Advance(h.Spec.Cooldown);
        effects = h.Tick();

        Assert.Equal(RunState.Finished, h.State);
        Assert.Equal([new RunEnded(RunState.Finished)], effects);
        Assert.Null(h.Data.Current);
        Assert.Equal([1, 2, 3], h.Data.History.Select(r => r.Round));
        Assert.Equal(RunHarness.Candidate(3), h.Data.GlobalModelHash);
        Assert.Equal(3, h.Run.ToView().CommittedRounds);

        h.Advance(TimeSpan.FromHours(1));
        Assert.Empty(h.Tick());
        Assert.Equal(RunState.Finished, h.State);
    }

    [Fact]
    public void A_checkpoint_is_taken_every_checkpointEvery_rounds_and_after_the_last_round()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Rounds = 5, CheckpointEvery = 2 });
        h.BeginFirstRound("w1", "w2");

        for (var round = 1; round <= 5; round++) h.CommitRoundAndCooldown();

        Assert.Equal(RunState.Finished, h.State);
        Assert.Equal([2, 4, 5], h.Data.Checkpoints.Select(c => c.Round));
        Assert.Equal([RunHarness.Candidate(2), RunHarness.Candidate(4), RunHarness.Candidate(5)],
            h.Data.Checkpoints.Select(c => c.ModelHash));
    }

    [Fact]
    public void Reaching_the_target_accuracy_finishes_early()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Rounds = 10, TargetAccuracy = 0.85 });
        h.BeginFirstRound("w1", "w2");
        h.CommitRound(validationAccuracy: 0.5, validationLoss: 1.0);
        h.Advance(h.Spec.Cooldown);
        h.Tick();
        Assert.Equal(RunState.RoundTrain, h.State);

        h.CommitRound(validationAccuracy: 0.9, validationLoss: 0.3);
        h.Advance(h.Spec.Cooldown);
        var effects = h.Tick();

        Assert.Equal(RunState.Finished, h.State);
        Assert.Contains(new RunEnded(RunState.Finished), effects);
        Assert.Equal(2, h.Data.History.Count);
    }

    [Fact]
    public void The_timeline_records_every_transition_of_a_round_in_order()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Rounds = 1 });
        h.BeginFirstRound("w1", "w2");
        h.CommitRoundAndCooldown();

        Assert.Equal(
            [
                (RunState.Created, RunState.Created),
                (RunState.Created, RunState.WaitingForMembers),
                (RunState.WaitingForMembers, RunState.Warmup),
                (RunState.Warmup, RunState.RoundTrain),
                (RunState.RoundTrain, RunState.RoundWitness),
                (RunState.RoundWitness, RunState.Cooldown),
                (RunState.Cooldown, RunState.Finished),
            ],
            h.Data.Timeline.Select(t => (t.From, t.To)));
    }
}
