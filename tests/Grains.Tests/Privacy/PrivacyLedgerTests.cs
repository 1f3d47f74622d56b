using Regatta.Grains.Privacy;
using Regatta.Grains.Runs;
using Regatta.Grains.Tests.Runs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Privacy;

/// <summary>The run's privacy ledger: what a round spends, where ε is reported, and the budget that stops the run.</summary>
public class PrivacyLedgerTests
{
    private static RunSpec Spec(DpSpec dp, SelectionSpec? selection = null, int rounds = 5) => RunHarness.DefaultSpec with
    {
        Rounds = rounds,
        Selection = selection ?? new SelectionSpec(),
        Privacy = new PrivacySpec { Dp = dp },
    };

    /// <summary>Commits the round with a noised candidate, as RoundCandidates reports it in central mode.</summary>
    private static void CommitNoised(RunHarness h)
    {
        h.ReportAllTrain();
        var round = h.Round;
        Assert.Null(h.Run.CandidateReady(new CandidateOutcome(round.Round, round.Attempt, RunHarness.Candidate(round.Round), null, Noised: true)));
        h.Effects();
        foreach (var witness in h.Round.Witnesses.ToList()) h.Attest(witness);
        h.Advance(h.Spec.Cooldown);
        h.Tick();
    }

    [Fact]
    public void Central_rounds_spend_the_sampled_gaussian_rdp_and_report_epsilon_per_round()
    {
        var dp = new DpSpec { ClipNorm = 1, NoiseMultiplier = 1.1, Delta = 1e-5 };
        var h = new RunHarness(Spec(dp, new SelectionSpec { Strategy = SelectionStrategy.RandomK, K = 2 }));
        h.BeginFirstRound("w1", "w2", "w3", "w4");
        Assert.Equal(0.5, h.Round.SamplingRate); // 2 of 4 ready members
        Assert.Equal(0, h.Run.ToView().Epsilon);

        CommitNoised(h);
        CommitNoised(h);
        CommitNoised(h);

        var expected = Enumerable.Range(1, 3).Select(r => RdpAccountant.Epsilon(RdpAccountant.Compose(0.5, 1.1, r), 1e-5)).ToList();
        Assert.Equal(expected, h.Data.History.Select(r => r.Epsilon), (a, b) => Math.Abs(a - b) < 1e-9);
        Assert.Equal(expected[^1], h.Run.ToView().Epsilon, 9);
        Assert.Equal(3, h.Data.PrivacyReleases);
    }

    [Fact]
    public void A_refused_noised_candidate_is_still_a_release()
    {
        var h = new RunHarness(Spec(new DpSpec { NoiseMultiplier = 2 }));
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        var round = h.Round;
        h.Run.CandidateReady(new CandidateOutcome(round.Round, round.Attempt, null, "the aggregate contains non-finite values", Noised: true));
        Assert.Equal(1, h.Data.PrivacyReleases);
        Assert.True(h.Run.ToView().Epsilon > 0);
    }

    [Fact]
    public void A_noised_candidate_that_arrives_while_paused_or_stale_is_counted_too()
    {
        var h = new RunHarness(Spec(new DpSpec { NoiseMultiplier = 2 }));
        h.BeginFirstRound("w1", "w2");
        h.ReportAllTrain();
        var round = h.Round;
        h.Run.Pause();
        h.Run.CandidateReady(new CandidateOutcome(round.Round, round.Attempt, "while-paused", null, Noised: true));
        h.Run.CandidateReady(new CandidateOutcome(round.Round - 1, 1, "stale", null, Noised: true));

        Assert.Equal(2, h.Data.PrivacyReleases);
        Assert.Null(h.Round.CandidateHash); // neither became the round's candidate
        Assert.Equal(RdpAccountant.Epsilon(RdpAccountant.Compose(1, 2, 2), h.Spec.Privacy.Dp!.Delta), h.Run.ToView().Epsilon, 9);
    }

    [Fact]
    public void The_run_finishes_before_a_round_that_would_overspend_max_epsilon()
    {
        var dp = new DpSpec { NoiseMultiplier = 2, Delta = 1e-5 };
        var perRound = Enumerable.Range(1, 10).Select(r => RdpAccountant.Epsilon(RdpAccountant.Compose(1, 2, r), 1e-5)).ToList();
        var h = new RunHarness(Spec(dp with { MaxEpsilon = (perRound[2] + perRound[3]) / 2 }, rounds: 10)); // room for 3 rounds
        h.BeginFirstRound("w1", "w2");

        CommitNoised(h);
        CommitNoised(h);
        CommitNoised(h);

        Assert.Equal(RunState.Finished, h.State);
        Assert.Equal(3, h.Data.History.Count);
        Assert.StartsWith("privacy budget reached", h.Data.Timeline[^1].Reason);
        Assert.True(h.Run.ToView().Epsilon <= h.Spec.Privacy.Dp!.MaxEpsilon);
    }

    [Fact]
    public void Local_mode_spends_one_unsampled_release_per_round_attempt()
    {
        var dp = new DpSpec { Mode = DpMode.Local, NoiseMultiplier = 3 };
        var h = new RunHarness(Spec(dp, new SelectionSpec { Strategy = SelectionStrategy.RandomK, K = 1 }));
        h.BeginFirstRound("w1", "w2", "w3");
        Assert.Equal(1, h.Round.SamplingRate);
        Assert.Equal(1, h.Data.PrivacyReleases); // spent when the round opens: each selected member uploads a noised update
        h.PassRoundDeadline(); // nobody reported: attempt 2 opens and spends again
        Assert.Equal(2, h.Data.Attempt);
        Assert.Equal(RdpAccountant.Epsilon(RdpAccountant.Compose(1, 3, 2), dp.Delta), h.Run.ToView().Epsilon, 9);
    }

    [Fact]
    public void A_restore_does_not_give_back_spent_privacy()
    {
        var h = new RunHarness(Spec(new DpSpec { NoiseMultiplier = 2 }));
        h.BeginFirstRound("w1", "w2");
        CommitNoised(h);
        CommitNoised(h);
        var spent = h.Run.ToView().Epsilon;
        h.Run.Restore();
        Assert.Equal(spent, h.Run.ToView().Epsilon);
    }

    [Fact]
    public void A_target_epsilon_becomes_the_noise_multiplier_when_the_run_is_created()
    {
        var h = new RunHarness(Spec(new DpSpec { TargetEpsilon = 4, Delta = 1e-5 }, rounds: 20));
        var sigma = h.Spec.Privacy.Dp!.NoiseMultiplier;
        Assert.True(sigma > 0);
        var planned = RdpAccountant.Epsilon(RdpAccountant.Compose(1, sigma, 20), 1e-5);
        Assert.InRange(planned, 4 * 0.99, 4);
    }

    [Fact]
    public void Without_dp_nothing_is_spent_and_epsilon_is_not_reported()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.CommitRound();
        Assert.True(double.IsNaN(h.Data.History[0].Epsilon));
        Assert.True(double.IsNaN(h.Run.ToView().Epsilon));
        Assert.Null(h.Data.PrivacyRdp);
    }
}
