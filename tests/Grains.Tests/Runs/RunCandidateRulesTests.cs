using Regatta.Grains.Runs;
using Regatta.Jobs;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Grains.Tests.Runs;

/// <summary>What the lifecycle decides about a candidate (held-out tolerance, optimiser state) and which jobs it replays after a crash.</summary>
public class RunCandidateRulesTests
{
    /// <summary>Round 1 committed with a held-out loss of 1.0; round 2's updates are in and it waits for its candidate.</summary>
    private static RunHarness RoundTwoAggregated()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.CommitRound(validationLoss: 1.0, validationAccuracy: 0.6);
        h.Advance(h.Spec.Cooldown);
        h.Tick();
        h.ReportAllTrain();
        return h;
    }

    [Fact]
    public void A_candidate_whose_held_out_loss_is_worse_beyond_tolerance_is_refused_and_the_round_retried()
    {
        var h = RoundTwoAggregated(); // loss tolerance 0.5

        var round = h.Round;
        var refusal = h.Run.CandidateReady(new CandidateOutcome(round.Round, round.Attempt, "worse", null, 1.51, 0.5, "adam-2"));
        h.Effects();

        Assert.Contains("worse than the committed 1.0000 beyond tolerance", refusal);
        Assert.Equal((RunState.RoundTrain, 2, 2), (h.State, h.Data.Round, h.Data.Attempt));
        Assert.Null(h.Data.ServerOptimizerHash); // the refused candidate's optimiser step is not kept
    }

    [Fact]
    public void A_candidate_within_tolerance_is_witnessed_and_its_optimizer_state_kept()
    {
        var h = RoundTwoAggregated();

        var round = h.Round;
        Assert.Null(h.Run.CandidateReady(new CandidateOutcome(round.Round, round.Attempt, "fine", null, 1.49, 0.6, "adam-2")));

        Assert.Equal("fine", h.Round.CandidateHash);
        Assert.Equal("adam-2", h.Data.ServerOptimizerHash);
        Assert.Single(h.Effects().OfType<OpenJob>(), j => j.Kind == JobKind.Witness);
    }

    [Fact]
    public void Replay_opens_exactly_the_jobs_the_run_still_waits_on()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2", "w3");
        h.ReportTrain("w1");
        Assert.Equal(h.OpenJobIds(), h.Run.ReplayOpenJobs().Select(j => j.JobId).ToHashSet());
        Assert.All(h.Run.ReplayOpenJobs(), j => Assert.Equal((JobKind.Train, RunHarness.InitialModel), (j.Kind, j.ModelHash)));

        h.ReportTrain("w2");
        h.ReportTrain("w3");
        h.CandidateReady("cand");
        var witness = Assert.Single(h.Run.ReplayOpenJobs());
        Assert.Equal((JobKind.Witness, "cand", RunHarness.InitialModel), (witness.Kind, witness.ModelHash, witness.BaseModelHash));
        Assert.Equal(h.OpenJobIds(), [witness.JobId]);
    }

    [Fact]
    public void Replay_includes_the_readiness_jobs_of_members_still_provisioning()
    {
        var h = new RunHarness();
        h.Data.KitHash = "kit";
        h.Start();
        h.Admit("w1", "w2");
        var readiness = h.Data.Readiness["w1"];
        readiness.KitConfirmed = true;

        var jobs = h.Run.ReplayOpenJobs().Select(j => (j.WorkerId, j.Kind)).ToHashSet();

        Assert.Equal([("w1", JobKind.Echo), ("w2", JobKind.Provision), ("w2", JobKind.Echo)], jobs);
    }

    [Theory]
    [InlineData(ApprovalStatus.Approved, null, false)]
    [InlineData(ApprovalStatus.Pending, "join-token-1", true)]
    public void Admits_approved_workers_and_pending_ones_with_the_join_token(ApprovalStatus approval, string? token, bool auto)
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { JoinToken = "join-token-1" });
        Assert.Equal(auto, h.Run.Admits("w1", approval, token));
    }

    [Theory]
    [InlineData(ApprovalStatus.Unregistered, null, "unknown_worker")]
    [InlineData(ApprovalStatus.Rejected, "join-token-1", "rejected")]
    [InlineData(ApprovalStatus.Pending, "wrong-token", "not_approved")]
    [InlineData(ApprovalStatus.Pending, null, "not_approved")]
    public void Refuses_the_others_with_the_reason(ApprovalStatus approval, string? token, string code)
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { JoinToken = "join-token-1" });
        Assert.Equal(code, Assert.Throws<RegattaException>(() => h.Run.Admits("w1", approval, token)).Code);
    }
}
