using Regatta.Grains.Runs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>Reports that come late, twice, or for a job the round does not know are ignored and change nothing.</summary>
public class RunStaleReportTests
{
    private static AcceptedUpdate UpdateFor(string worker, string job) => new(worker, job, "update-" + job, 100, 1.0);

    [Fact]
    public void A_report_for_a_job_of_an_earlier_attempt_is_ignored()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        var oldJob = h.Round.TrainJobs["w1"];
        h.PassRoundDeadline();
        Assert.Equal(2, h.Data.Attempt);
        var before = h.Snap();

        Assert.False(h.Run.ExpectsTrainReport("w1", oldJob));
        var taken = h.Run.TrainReported("w1", oldJob, UpdateFor("w1", oldJob), null);

        Assert.False(taken);
        Assert.Equal(before, h.Snap());
        Assert.Empty(h.Effects());
        Assert.True(h.Run.ExpectsTrainReport("w1", h.Round.TrainJobs["w1"])); // the current job still is
    }

    [Fact]
    public void A_second_report_from_the_same_worker_is_ignored()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { MinClients = 3 });
        h.BeginFirstRound("w1", "w2", "w3");
        h.ReportTrain("w1", loss: 0.3);
        var job = h.Round.TrainJobs["w1"];
        var before = h.Snap();

        var accepted = h.Run.TrainReported("w1", job, new AcceptedUpdate("w1", job, "another-update", 100, 9.9), null);
        var refused = h.Run.TrainReported("w1", job, null, "refused the second time");

        Assert.False(accepted);
        Assert.False(refused);
        Assert.Equal(before, h.Snap());
        Assert.Empty(h.Effects());
        var kept = Assert.Single(h.Round.Accepted);
        Assert.Equal(0.3, kept.TrainLoss);
        Assert.Empty(h.Round.Refused);
    }

    [Fact]
    public void A_report_from_a_worker_that_was_not_selected_is_ignored()
    {
        var spec = RunHarness.DefaultSpec with { Selection = new SelectionSpec { Strategy = SelectionStrategy.RandomK, K = 2 } };
        var h = new RunHarness(spec);
        h.BeginFirstRound("w1", "w2", "w3");
        var idle = Assert.Single(new[] { "w1", "w2", "w3" }.Except(h.Round.Selected));
        var someoneElsesJob = h.Round.TrainJobs[h.Round.Selected[0]];
        var before = h.Snap();

        Assert.False(h.Run.TrainReported(idle, someoneElsesJob, UpdateFor(idle, someoneElsesJob), null));
        Assert.False(h.Run.TrainReported(idle, "made-up-job", UpdateFor(idle, "made-up-job"), null));

        Assert.Equal(before, h.Snap());
    }

    [Fact]
    public void A_report_with_another_workers_job_id_is_ignored()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        var jobOfW2 = h.Round.TrainJobs["w2"];
        var before = h.Snap();

        Assert.False(h.Run.TrainReported("w1", jobOfW2, UpdateFor("w1", jobOfW2), null));

        Assert.Equal(before, h.Snap());
    }

    [Fact]
    public void A_late_report_after_the_deadline_closed_the_round_is_ignored()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportTrain("w1");
        var lateJob = h.Round.TrainJobs["w2"];
        h.PassRoundDeadline(); // closes with w1's update; w2's job timed out
        Assert.Equal(RunState.RoundWitness, h.State);
        var before = h.Snap();

        Assert.False(h.Run.TrainReported("w2", lateJob, UpdateFor("w2", lateJob), null));

        Assert.Equal(before, h.Snap());
        Assert.Single(h.Round.Accepted);
    }

    [Fact]
    public void A_train_report_for_a_committed_round_is_ignored()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        var job = h.Round.TrainJobs["w1"];
        h.CommitRound();
        var before = h.Snap();

        Assert.False(h.Run.TrainReported("w1", job, UpdateFor("w1", job), null));

        Assert.Equal(before, h.Snap());
        Assert.Empty(h.Effects());
    }

    [Fact]
    public void A_second_attestation_from_the_same_witness_is_ignored()
    {
        var spec = RunHarness.DefaultSpec with
        {
            Selection = new SelectionSpec { Strategy = SelectionStrategy.RandomK, K = 2 },
            Witnesses = new WitnessSpec { Count = 2, Quorum = 2 },
        };
        var h = new RunHarness(spec);
        h.BeginFirstRound("w1", "w2", "w3", "w4");
        h.ReportAllTrain();
        h.CandidateReady("cand-1");
        var witness = h.Round.Witnesses[0];
        var job = h.Round.WitnessJobs[witness];
        h.Attest(witness);
        var before = h.Snap();

        // A second agreeing attestation must not count twice towards the quorum of 2.
        Assert.False(h.Run.WitnessReported(witness, job, true, "cand-1", 0.5, 0.8, 1.0, null));

        Assert.Equal(before, h.Snap());
        Assert.Equal(RunState.RoundWitness, h.State);
        Assert.Empty(h.Effects());
    }

    [Fact]
    public void An_attestation_for_a_witness_job_of_an_earlier_attempt_is_ignored()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateReady();
        var witness = h.Round.Witnesses[0];
        var oldJob = h.Round.WitnessJobs[witness];
        h.Advance(h.Spec.WitnessDeadline);
        h.Tick(); // retried: attempt 2 is training
        h.ReportAllTrain();
        h.CandidateReady();
        var before = h.Snap();

        Assert.False(h.Run.WitnessReported(witness, oldJob, true, RunHarness.Candidate(1, 1), 0.1, 0.9, 1.0, null));
        Assert.False(h.Run.WitnessReported("w1", "no-such-job", true, RunHarness.Candidate(1, 2), 0.1, 0.9, 1.0, null));

        Assert.Equal(before, h.Snap());
        Assert.Equal(RunState.RoundWitness, h.State);
    }

    [Fact]
    public void An_attestation_from_a_member_that_is_not_a_witness_is_ignored()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        h.CandidateReady();
        var notWitness = Assert.Single(new[] { "w1", "w2" }.Except(h.Round.Witnesses));
        var before = h.Snap();

        Assert.False(h.Run.WitnessReported(notWitness, h.Round.WitnessJobs.Values.Single(), true, h.Round.CandidateHash, 0.1, 0.9, 1, null));

        Assert.Equal(before, h.Snap());
    }
}
