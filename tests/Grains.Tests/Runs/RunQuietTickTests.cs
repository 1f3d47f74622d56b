using System.Text.Json;
using System.Text.Json.Serialization;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>
/// A tick says whether it changed anything, and the RunGrain skips its store write when it did not: so the answer
/// must be exactly "the run's data differs", on every kind of tick a run meets.
/// </summary>
public class RunQuietTickTests
{
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Ticks once and checks the answer against the data itself; returns the answer.</summary>
    private static bool Tick(RunHarness h)
    {
        var before = JsonSerializer.Serialize(h.Data, Json);
        var changed = h.Run.Tick();
        h.Effects();
        var after = JsonSerializer.Serialize(h.Data, Json);
        Assert.Equal(before != after, changed);
        return changed;
    }

    [Fact]
    public void A_tick_reports_a_change_exactly_when_the_run_data_changed_over_a_whole_run()
    {
        var h = new RunHarness();
        Assert.False(Tick(h)); // created, not started

        h.Start();
        Assert.False(Tick(h)); // waiting for members, none asked
        h.Run.Join("w1");
        h.Run.Join("w2");
        Assert.True(Tick(h)); // admits them and enters warmup
        Assert.False(Tick(h)); // warmup not over
        h.Advance(h.Spec.Warmup);
        Assert.True(Tick(h)); // opens round 1
        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.False(Tick(h)); // training, nobody reported, deadline far

        h.ReportAllTrain();
        Assert.False(Tick(h)); // witnessing, the candidate is being built
        h.CandidateReady();
        Assert.False(Tick(h)); // witnesses asked, none answered
        foreach (var witness in h.Round.Witnesses.ToList()) h.Attest(witness);
        Assert.Equal(RunState.Cooldown, h.State);
        Assert.False(Tick(h)); // cooldown not over
        h.Advance(h.Spec.Cooldown);
        Assert.True(Tick(h)); // round 2 opens
        Assert.Equal(2, h.Data.Round);

        h.Advance(h.Spec.RoundDeadline);
        Assert.True(Tick(h)); // no updates by the deadline: the round is tried again
        Assert.Equal(2, h.Data.Attempt);
    }

    [Fact]
    public void A_retry_is_a_change_even_when_the_report_list_is_full_and_keeps_its_length()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        for (var i = 0; i < 600; i++) h.Run.AddReport(new RunReport(h.Now, "info", "test", $"filler {i}"));
        var reports = h.Data.Reports.Count;

        h.Advance(h.Spec.RoundDeadline);

        Assert.True(Tick(h));
        Assert.Equal(reports, h.Data.Reports.Count);
        Assert.Equal(2, h.Data.Attempt);
    }

    [Fact]
    public void Pending_joiners_alone_are_a_change()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        h.Run.Join("w3");
        Assert.True(Tick(h));
        Assert.False(Tick(h));
    }
}
