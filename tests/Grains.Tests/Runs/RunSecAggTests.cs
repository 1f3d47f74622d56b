using Regatta.Grains.Runs;
using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>
/// Rounds under secure aggregation: the round opens its SecAggRoundGrain; the grain's outcome, not the members' job
/// reports, moves the round: t survivors go to the witnesses with the sum, a failed protocol retries the attempt
/// (failing the run after maxRoundAttempts), and a protocol that never reports is retried after the backstop.
/// </summary>
public class RunSecAggTests
{
    private static RunHarness Harness() => new(RunHarness.DefaultSpec with
    {
        Privacy = new PrivacySpec { SecureAggregation = true, SecAggPhaseTimeout = TimeSpan.FromSeconds(20) },
    });

    [Fact]
    public void A_round_opens_its_secure_aggregation_for_the_selected_members()
    {
        var h = Harness();
        var effects = h.BeginFirstRound("w1", "w2", "w3");
        var open = Assert.Single(effects.OfType<OpenSecAgg>());
        Assert.Equal((1, 1), (open.Round, open.Attempt));
        Assert.Equal(h.Round.Selected, open.Members);
        Assert.Equal(h.Round.Deadline, open.InputDeadline);
    }

    [Fact]
    public void Survivors_are_accepted_dropouts_closed_and_the_candidate_is_built_from_the_sum()
    {
        var h = Harness();
        h.BeginFirstRound("w1", "w2", "w3");
        var jobs = h.Round.TrainJobs.ToDictionary();

        var effects = h.Do(m => Assert.True(m.SecAggFinished(1, 1, ["w1", "w3"], null)));

        Assert.Equal(RunState.RoundWitness, h.State);
        Assert.Equal(["w1", "w3"], h.Round.Accepted.Select(a => a.WorkerId).Order());
        Assert.All(h.Round.Accepted, a => Assert.Equal(RunLifecycle.SecAggUpdate, a.UpdateHash));
        Assert.Contains("w2", h.Round.Abandoned);
        var closes = effects.OfType<CloseJob>().ToDictionary(c => c.JobId, c => c.Result);
        Assert.Equal(JobResult.Success, closes[jobs["w1"]]);
        Assert.Equal(JobResult.Timeout, closes[jobs["w2"]]);
        Assert.Equal((1, 1), Assert.Single(effects.OfType<AggregateRound>()) is var a ? (a.Round, a.Attempt) : default);
        // A late or repeated outcome changes nothing.
        Assert.False(h.Run.SecAggFinished(1, 1, ["w1"], null));
    }

    [Fact]
    public void A_failed_protocol_retries_the_attempt_with_a_new_secure_aggregation()
    {
        var h = Harness();
        h.BeginFirstRound("w1", "w2", "w3");

        var effects = h.Do(m => m.SecAggFinished(1, 1, [], "secure aggregation: 1 of 3 members sent a masked input, fewer than the threshold 2"));

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal(2, h.Round.Attempt);
        Assert.Equal((1, 2), Assert.Single(effects.OfType<OpenSecAgg>()) is var o ? (o.Round, o.Attempt) : default);
        Assert.Contains(h.Data.Reports, r => r.Message == "round 1 attempt 1 failed: secure aggregation: 1 of 3 members sent a masked input, fewer than the threshold 2");
        Assert.False(h.Run.SecAggFinished(1, 1, ["w1", "w2"], null)); // the old attempt's outcome is stale
    }

    [Fact]
    public void Failing_every_attempt_fails_the_run()
    {
        var h = Harness();
        h.BeginFirstRound("w1", "w2");
        for (var attempt = 1; attempt <= h.Spec.MaxRoundAttempts; attempt++)
            h.Do(m => m.SecAggFinished(1, attempt, [], "secure aggregation: too few"));
        Assert.Equal(RunState.Failed, h.State);
    }

    [Fact]
    public void Job_reports_do_not_move_the_round_and_only_the_backstop_retries_a_silent_protocol()
    {
        var h = Harness();
        h.BeginFirstRound("w1", "w2");
        h.RefuseTrain("w1", "left");
        h.RefuseTrain("w2", "left");
        Assert.Equal(RunState.RoundTrain, h.State);

        h.Advance(h.Spec.RoundDeadline + 3 * h.Spec.Privacy.SecAggPhaseTimeout - TimeSpan.FromMilliseconds(1));
        h.Tick();
        Assert.Equal(1, h.Round.Attempt);
        h.Advance(TimeSpan.FromMilliseconds(1));
        h.Tick();
        Assert.Equal(2, h.Round.Attempt);
        Assert.Contains(h.Data.Reports, r => r.Message == "round 1 attempt 1 failed: secure aggregation did not finish by the round's deadline");
    }
}
