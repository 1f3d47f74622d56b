using Regatta.Grains.Runs;
using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>Rounds that do not commit: deadlines, refused updates, rejected candidates, witness deadlines, exhausted attempts.</summary>
public class RunRetryTests
{
    // ---- train deadline ------------------------------------------------------------------------------

    [Fact]
    public void Nothing_happens_before_the_round_deadline()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");

        h.Advance(h.Spec.RoundDeadline - TimeSpan.FromMilliseconds(1));
        var effects = h.Tick();

        Assert.Empty(effects);
        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal(1, h.Data.Attempt);
    }

    [Fact]
    public void Deadline_with_too_few_updates_retries_the_same_round_with_new_jobs()
    {
        var h = new RunHarness();
        var first = h.BeginFirstRound("w1", "w2").Opened();

        var effects = h.PassRoundDeadline();

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal((1, 2), (h.Data.Round, h.Data.Attempt));
        Assert.Equal((1, 2), (h.Round.Round, h.Round.Attempt));
        Assert.Equal(h.Now + h.Spec.RoundDeadline, h.Round.Deadline);
        Assert.Empty(h.Round.Accepted);

        // The old jobs are closed as timed out...
        var closed = effects.Closed();
        Assert.Equal(first.Select(o => o.JobId).ToHashSet(), closed.Select(c => c.JobId).ToHashSet());
        Assert.All(closed, c => Assert.Equal(JobResult.Timeout, c.Result));
        // ...and new ones, with new ids, are opened for attempt 2.
        var second = effects.Opened(JobKind.Train);
        Assert.Equal(["w1", "w2"], second.Select(o => o.WorkerId).Order());
        Assert.All(second, o =>
        {
            Assert.Equal((1, 2), (o.Round, o.Attempt));
            Assert.Equal(h.Now + h.Spec.RoundDeadline, o.Deadline);
            Assert.Equal(RunHarness.InitialModel, o.ModelHash);
        });
        Assert.Empty(second.Select(o => o.JobId).Intersect(first.Select(o => o.JobId)));
        Assert.Equal(2, second.Select(o => o.JobId).Distinct().Count());

        var report = h.Data.Reports[^1];
        Assert.Equal("warning", report.Severity);
        Assert.Contains("round 1 attempt 1", report.Message);
        Assert.Contains("deadline", report.Message);
        Assert.Equal((RunState.RoundTrain, RunState.RoundTrain), (h.Data.Timeline[^1].From, h.Data.Timeline[^1].To));
    }

    [Fact]
    public void Repeated_failures_up_to_max_round_attempts_fail_the_run_with_a_reason()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { MaxRoundAttempts = 3 });
        h.BeginFirstRound("w1", "w2");

        h.PassRoundDeadline();
        Assert.Equal(2, h.Data.Attempt);
        h.PassRoundDeadline();
        Assert.Equal(3, h.Data.Attempt);
        Assert.Equal(RunState.RoundTrain, h.State);
        var lastJobs = h.Round.TrainJobs.Values.ToHashSet();

        var effects = h.PassRoundDeadline();

        Assert.Equal(RunState.Failed, h.State);
        Assert.NotNull(h.Data.FailureReason);
        Assert.Contains("round 1 failed 3 times", h.Data.FailureReason);
        Assert.Contains("deadline", h.Data.FailureReason);
        Assert.Equal(h.Data.FailureReason, h.Run.ToView().FailureReason);
        Assert.Contains(new RunEnded(RunState.Failed), effects);
        Assert.Empty(effects.Opened());
        Assert.Equal(lastJobs, effects.ClosedIds());
        Assert.Single(effects.OfType<RunEnded>());

        h.Advance(TimeSpan.FromHours(1));
        Assert.Empty(h.Tick());
        Assert.Equal(RunState.Failed, h.State);
    }

    [Fact]
    public void Deadline_with_enough_updates_closes_the_round_with_the_reporters()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { MinUpdates = 1 });
        h.BeginFirstRound("w1", "w2", "w3");
        h.ReportTrain("w2");
        var late = new[] { h.Round.TrainJobs["w1"], h.Round.TrainJobs["w3"] };

        var effects = h.PassRoundDeadline();

        Assert.Equal(RunState.RoundWitness, h.State);
        Assert.Equal(1, h.Data.Attempt);
        Assert.Equal(["w2"], h.Round.Accepted.Select(a => a.WorkerId));
        Assert.Equal(late.ToHashSet(), effects.ClosedIds());
        Assert.All(effects.Closed(), c => Assert.Equal(JobResult.Timeout, c.Result));
        Assert.Contains(new AggregateRound(1, 1), effects);
        Assert.Empty(effects.Opened());
        Assert.True(h.Round.HasReported("w1") && h.Round.HasReported("w3"));
    }

    [Fact]
    public void Deadline_below_min_updates_retries_even_if_some_reported()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { MinClients = 3, MinUpdates = 2 });
        h.BeginFirstRound("w1", "w2", "w3");
        h.ReportTrain("w1");

        var effects = h.PassRoundDeadline();

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal(2, h.Data.Attempt);
        Assert.Empty(h.Round.Accepted); // a new attempt starts from nothing
        Assert.Equal(2, effects.Closed().Count); // w2 and w3; w1 had reported
        Assert.Equal(3, effects.Opened(JobKind.Train).Count);
    }

    [Fact]
    public void A_commit_after_a_retry_records_the_attempts()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.PassRoundDeadline();

        h.CommitRound();

        Assert.Equal(2, h.Data.History[^1].Attempts);
        Assert.Equal(RunHarness.Candidate(1, 2), h.Data.GlobalModelHash);
    }

    [Fact]
    public void The_next_round_starts_again_at_attempt_1()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.PassRoundDeadline();

        h.CommitRoundAndCooldown();

        Assert.Equal((2, 1), (h.Data.Round, h.Data.Attempt));
    }

    // ---- refused updates -----------------------------------------------------------------------------

    [Fact]
    public void A_refused_update_counts_as_reported_but_not_accepted()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportTrain("w1", loss: 0.7);

        var effects = h.RefuseTrain("w2", "update norm 1e9 exceeds 100");

        Assert.Equal(RunState.RoundWitness, h.State); // both selected reported, 1 accepted ≥ minUpdates 1
        Assert.Contains(new AggregateRound(1, 1), effects);
        Assert.True(h.Round.HasReported("w2"));
        Assert.Equal(["w1"], h.Round.Accepted.Select(a => a.WorkerId));
        var refused = Assert.Single(h.Round.Refused);
        Assert.Equal(("w2", h.Round.TrainJobs["w2"], "update norm 1e9 exceeds 100"), (refused.WorkerId, refused.JobId, refused.Reason));

        h.CandidateReady();
        h.Attest(h.Round.Witnesses[0]);

        var record = h.Data.History[^1];
        Assert.Equal(1, record.UpdatesAccepted);
        Assert.Equal(1, record.UpdatesRefused);
        Assert.Equal(["w2: update norm 1e9 exceeds 100"], record.RefusalReasons);
        Assert.Equal(0.7, record.TrainLoss, 12); // refused updates do not count in the mean
    }

    [Fact]
    public void A_refusal_without_a_reason_is_still_recorded()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { MinClients = 3 });
        h.BeginFirstRound("w1", "w2", "w3");

        Assert.True(h.Run.TrainReported("w1", h.Round.TrainJobs["w1"], null, null));

        Assert.Equal("refused", Assert.Single(h.Round.Refused).Reason);
    }

    [Fact]
    public void When_every_report_is_refused_the_round_is_retried_without_waiting_for_the_deadline()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.RefuseTrain("w1", "bad");

        var effects = h.RefuseTrain("w2", "bad");

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal(2, h.Data.Attempt);
        Assert.Empty(effects.Closed()); // every job had reported, nothing to close
        Assert.Equal(2, effects.Opened(JobKind.Train).Count);
        Assert.Contains("all selected reported", h.Data.Reports[^1].Message);
    }

    // ---- witnesses reject ----------------------------------------------------------------------------

    [Fact]
    public void An_attestation_of_another_model_is_a_rejection_and_the_round_is_retried()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateReady("cand-1");
        var round = h.Round;
        var witness = round.Witnesses[0];
        var witnessJob = round.WitnessJobs[witness];

        var effects = h.Attest(witness, modelHash: "something-else");

        var attestation = Assert.Single(round.Attestations);
        Assert.False(attestation.Agrees);
        Assert.Contains("something-else", attestation.Reason);
        Assert.Contains("not the candidate", attestation.Reason);
        Assert.Equal(witnessJob, attestation.JobId);

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal((1, 2), (h.Data.Round, h.Data.Attempt));
        Assert.Equal(2, effects.Opened(JobKind.Train).Count);
        Assert.DoesNotContain(witnessJob, effects.ClosedIds()); // it reported: nothing to close
        Assert.Equal(RunHarness.InitialModel, h.Data.GlobalModelHash);
        Assert.Empty(h.Data.History);
        Assert.Contains("witnesses rejected the candidate", h.Data.Reports[^1].Message);
    }

    [Theory]
    [InlineData(1.6, false)]   // 1.0 × (1 + 0.5) = 1.5 < 1.6
    [InlineData(1.5, true)]    // at the tolerance: accepted
    [InlineData(1.2, true)]    // a bit worse, within tolerance
    [InlineData(0.5, true)]    // better
    public void A_witnessed_loss_worse_than_the_base_beyond_tolerance_is_a_rejection(double loss, bool agrees)
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Witnesses = new WitnessSpec { Count = 1, Quorum = 1, LossTolerance = 0.5 } });
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateReady("cand-1");
        var round = h.Round;

        h.Attest(round.Witnesses[0], loss: loss, baseLoss: 1.0);

        Assert.Equal(agrees, Assert.Single(round.Attestations).Agrees);
        if (agrees)
        {
            Assert.Equal(RunState.Cooldown, h.State);
            Assert.Equal("cand-1", h.Data.GlobalModelHash);
        }
        else
        {
            Assert.Contains("worse", round.Attestations[0].Reason);
            Assert.Equal(RunState.RoundTrain, h.State);
            Assert.Equal(2, h.Data.Attempt);
            Assert.Equal(RunHarness.InitialModel, h.Data.GlobalModelHash);
        }
    }

    [Fact]
    public void Without_a_base_loss_the_loss_is_not_compared()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateReady();

        h.Attest(h.Round.Witnesses[0], loss: 50, baseLoss: double.NaN);

        Assert.Equal(RunState.Cooldown, h.State);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_non_finite_witnessed_loss_is_a_rejection(double loss)
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateReady();
        var round = h.Round;

        h.Attest(round.Witnesses[0], loss: loss, baseLoss: double.NaN);

        Assert.False(round.Attestations[0].Agrees);
        Assert.Contains("not finite", round.Attestations[0].Reason);
        Assert.Equal(2, h.Data.Attempt);
    }

    [Fact]
    public void A_failed_witness_job_is_a_rejection_with_its_error()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateReady();
        var round = h.Round;

        h.Attest(round.Witnesses[0], succeeded: false, error: "evaluate: CUDA out of memory");

        Assert.Equal("evaluate: CUDA out of memory", round.Attestations[0].Reason);
        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal(2, h.Data.Attempt);
    }

    [Fact]
    public void The_round_is_retried_only_once_quorum_has_become_impossible()
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
        var stillOpen = h.Round.WitnessJobs[witnesses[2]];

        var effects = h.Attest(witnesses[0], modelHash: "wrong");
        Assert.Equal(RunState.RoundWitness, h.State); // 2 of the 3 can still agree
        Assert.Empty(effects);

        effects = h.Attest(witnesses[1], loss: 9, baseLoss: 1);

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal(2, h.Data.Attempt);
        var close = Assert.Single(effects.Closed());
        Assert.Equal(stillOpen, close.JobId);
        Assert.Equal(JobResult.Timeout, close.Result);
        Assert.Contains(witnesses[0], h.Data.Reports[^1].Message);
        Assert.Contains(witnesses[1], h.Data.Reports[^1].Message);
    }

    [Fact]
    public void An_unusable_aggregate_retries_the_round()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();

        var effects = h.CandidateRefused("aggregate contains non-finite values");

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal((1, 2), (h.Data.Round, h.Data.Attempt));
        Assert.Empty(effects.Opened(JobKind.Witness));
        Assert.Equal(2, effects.Opened(JobKind.Train).Count);
        Assert.Equal(RunHarness.InitialModel, h.Data.GlobalModelHash);
        Assert.Contains("aggregate contains non-finite values", h.Data.Reports[^1].Message);
    }

    [Fact]
    public void Unusable_aggregates_up_to_max_attempts_fail_the_run()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { MaxRoundAttempts = 2 });
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateRefused("NaN");
        h.ReportAllTrain();

        var effects = h.CandidateRefused("NaN again");

        Assert.Equal(RunState.Failed, h.State);
        Assert.Contains("NaN again", h.Data.FailureReason);
        Assert.Contains(new RunEnded(RunState.Failed), effects);
    }

    [Fact]
    public void A_candidate_for_another_attempt_is_ignored()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.PassRoundDeadline();
        h.ReportAllTrain();
        var before = h.Snap();

        h.Run.CandidateReady(1, 1, "stale-candidate", null);

        Assert.Equal(before, h.Snap());
        Assert.Empty(h.Effects());
    }

    [Fact]
    public void A_second_candidate_for_the_same_attempt_is_ignored()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateReady("cand-1");
        var before = h.Snap();

        h.Run.CandidateReady(1, 1, "cand-other", null);
        h.Run.CandidateReady(1, 1, null, "late refusal");

        Assert.Equal(before, h.Snap());
        Assert.Equal("cand-1", h.Round.CandidateHash);
        Assert.Empty(h.Effects());
    }

    [Fact]
    public void A_candidate_while_still_training_is_ignored()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportTrain("w1");
        var before = h.Snap();

        h.Run.CandidateReady(1, 1, "early", null);

        Assert.Equal(before, h.Snap());
        Assert.Empty(h.Effects());
    }

    // ---- witness deadline ----------------------------------------------------------------------------

    [Fact]
    public void Witness_deadline_without_quorum_retries_the_round()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateReady();
        var witnessJob = h.Round.WitnessJobs.Values.Single();

        h.Advance(h.Spec.WitnessDeadline - TimeSpan.FromMilliseconds(1));
        Assert.Empty(h.Tick());
        Assert.Equal(RunState.RoundWitness, h.State);

        h.Advance(TimeSpan.FromMilliseconds(1));
        var effects = h.Tick();

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal((1, 2), (h.Data.Round, h.Data.Attempt));
        var close = Assert.Single(effects.Closed());
        Assert.Equal((witnessJob, JobResult.Timeout), (close.JobId, close.Result));
        Assert.Equal(2, effects.Opened(JobKind.Train).Count);
        Assert.Contains("witness deadline", h.Data.Reports[^1].Message);
        Assert.Empty(h.Data.History);
    }

    [Fact]
    public void The_train_deadline_does_not_apply_once_witnessing()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { RoundDeadline = TimeSpan.FromSeconds(30), WitnessDeadline = TimeSpan.FromMinutes(5) });
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateReady();

        h.Advance(TimeSpan.FromMinutes(1)); // past the train deadline, before the witness deadline
        h.Tick();

        Assert.Equal(RunState.RoundWitness, h.State);
        Assert.Equal(1, h.Data.Attempt);
    }
}
