using Regatta.Grains.Runs;
using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>any --cancel--> Cancelled; terminal runs refuse it.</summary>
public class RunCancelTests
{
    /// <summary>Names of the places a run can be cancelled from, and how to get there.</summary>
    public static TheoryData<string> NonTerminalPlaces =>
    [
        "Created", "WaitingForMembers", "Warmup", "RoundTrain", "RoundTrain (some reported)", "RoundWitness (aggregating)",
        "RoundWitness (witnessing)", "Cooldown", "Paused (in RoundTrain)", "Paused (in RoundWitness)",
    ];

    private static RunHarness DriveTo(string place)
    {
        var h = new RunHarness();
        switch (place)
        {
            case "Created":
                break;
            case "WaitingForMembers":
                h.Start();
                h.Admit("w1");
                break;
            case "Warmup":
                h.Start();
                h.Admit("w1", "w2");
                break;
            case "RoundTrain":
                h.BeginFirstRound("w1", "w2", "w3");
                break;
            case "RoundTrain (some reported)":
                h.BeginFirstRound("w1", "w2", "w3");
                h.ReportTrain("w2");
                break;
            case "RoundWitness (aggregating)":
                h.BeginFirstRound("w1", "w2", "w3");
                h.ReportAllTrain();
                break;
            case "RoundWitness (witnessing)":
                h.BeginFirstRound("w1", "w2", "w3");
                h.ReportAllTrain();
                h.CandidateReady();
                break;
            case "Cooldown":
                h.BeginFirstRound("w1", "w2", "w3");
                h.CommitRound();
                break;
            case "Paused (in RoundTrain)":
                h.BeginFirstRound("w1", "w2", "w3");
                h.ReportTrain("w1");
                h.Run.Pause();
                break;
            case "Paused (in RoundWitness)":
                h.BeginFirstRound("w1", "w2", "w3");
                h.ReportAllTrain();
                h.CandidateReady();
                h.Run.Pause();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(place), place, null);
        }
        h.Effects();
        var expected = place.Split(' ')[0];
        Assert.Equal(expected, h.State.ToString());
        return h;
    }

    [Theory]
    [MemberData(nameof(NonTerminalPlaces))]
    public void Cancel_from_every_non_terminal_state_ends_the_run_and_closes_its_open_jobs(string place)
    {
        var h = DriveTo(place);
        var open = h.OpenJobIds();

        var effects = h.Do(r => r.Cancel("operator stopped it"));

        Assert.Equal(RunState.Cancelled, h.State);
        Assert.Null(h.Data.PausedFrom);
        Assert.Equal(open, effects.ClosedIds());
        Assert.All(effects.Closed(), c => Assert.Equal(JobResult.Cancelled, c.Result));
        Assert.Empty(effects.Opened());
        Assert.Equal(new RunEnded(RunState.Cancelled), effects[^1]);
        Assert.Single(effects.OfType<RunEnded>());
        Assert.Equal(RunState.Cancelled, h.Data.Timeline[^1].To);
        Assert.Equal("operator stopped it", h.Data.Timeline[^1].Reason);
        Assert.Empty(h.OpenJobIds());
    }

    [Fact]
    public void A_cancelled_run_no_longer_moves()
    {
        var h = DriveTo("RoundTrain");
        var jobs = h.Round.TrainJobs;
        h.Do(r => r.Cancel(""));

        h.Advance(TimeSpan.FromHours(1));
        var effects = h.Tick();
        Assert.False(h.Run.TrainReported("w1", jobs["w1"], new AcceptedUpdate("w1", jobs["w1"], "u", 1, 1), null));

        Assert.Empty(effects);
        Assert.Empty(h.Effects());
        Assert.Equal(RunState.Cancelled, h.State);
        Assert.Equal("cancelled", h.Data.Timeline[^1].Reason); // a blank reason gets a default
    }

    [Theory]
    [InlineData(RunState.Cancelled)]
    [InlineData(RunState.Failed)]
    [InlineData(RunState.Finished)]
    public void Cancel_of_a_terminal_run_is_refused(RunState terminal)
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Rounds = 1, MaxRoundAttempts = 1 });
        h.BeginFirstRound("w1", "w2");
        switch (terminal)
        {
            case RunState.Cancelled: h.Run.Cancel("first"); break;
            case RunState.Failed: h.PassRoundDeadline(); break;
            case RunState.Finished: h.CommitRoundAndCooldown(); break;
        }
        h.Effects();
        Assert.Equal(terminal, h.State);
        var before = h.Snap();

        var e = Assert.Throws<RegattaException>(() => h.Run.Cancel("again"));

        Assert.Equal("invalid_state", e.Code);
        Assert.Contains("cannot cancel", e.Message);
        Assert.Contains(terminal.ToString(), e.Message);
        Assert.Equal(before, h.Snap());
        Assert.Empty(h.Effects());
    }
}
