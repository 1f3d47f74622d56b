using Regatta.Network;
using Regatta.Dashboard.Views;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Tests;

public sealed class ViewModelTests
{
    [Fact]
    public void Round_series_have_one_point_per_round_in_order_and_a_gap_where_a_round_did_not_measure()
    {
        var rounds = new List<RoundRecord>
        {
            new() { Round = 2, TrainLoss = 0.4, ValidationLoss = 0.5, ValidationAccuracy = 0.8 },
            new() { Round = 1, TrainLoss = 0.9, ValidationLoss = double.NaN, ValidationAccuracy = 0.6 },
        };
        var series = RoundSeries.From(rounds);
        Assert.Equal(["1", "2"], series.Labels);
        Assert.Equal(["train loss", "validation loss"], series.Loss.Select(s => s.Name));
        Assert.Equal([0.9, 0.4], series.Loss[0].Values);
        Assert.Equal([null, 0.5], series.Loss[1].Values);
        Assert.Equal(["validation accuracy"], series.Accuracy.Select(s => s.Name)); // witnesses measured nothing: no empty line
    }

    [Fact]
    public void Round_series_keep_only_the_most_recent_rounds()
    {
        var rounds = Enumerable.Range(1, RoundSeries.MaxPoints + 50).Select(r => new RoundRecord { Round = r, TrainLoss = 1.0 / r }).ToList();
        var series = RoundSeries.From(rounds);
        Assert.Equal(RoundSeries.MaxPoints, series.Labels.Count);
        Assert.Equal("51", series.Labels[0]);
    }

    [Theory]
    [InlineData(0.30, 0.70, 10, 1)] // step 0.1: scaled by 10, one unit per tick
    [InlineData(0.012, 0.05, 100, 1)] // step 0.01
    [InlineData(0.2, 1.9, 10, 5)] // step 0.5
    [InlineData(10, 60, 1, 10)]
    public void Chart_axis_scales_small_values_to_whole_ticks(double low, double high, double factor, int ticks)
    {
        var axis = ChartAxis.For([new Series("x", [low, high])], "0.00");
        Assert.Equal(factor, axis.Factor, 6);
        Assert.Equal(ticks, axis.Ticks);
        Assert.Equal(high.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), axis.Label(high * factor));
    }

    [Fact]
    public void Spec_errors_from_the_parser_keep_their_line()
    {
        var errors = SpecErrors.Locate("name: x\nfoo: 1\n", ["line 2, column 1: unknown field 'foo' not found on type RunSpec"]);
        var error = Assert.Single(errors);
        Assert.Equal(2, error.Line);
        Assert.Null(error.Path);
    }

    [Fact]
    public void Spec_errors_from_validation_point_at_the_line_of_their_field()
    {
        const string yaml = "name: x\ntraining:\n  batchSize: 32\n  learningRate: -1\nrounds: 0\n";
        var errors = SpecErrors.Locate(yaml, ["training.learningRate: must be greater than 0", "rounds: must be in [1, 100000]", "witnesses.quorum: must be in [1, 1]"]);
        Assert.Equal(4, errors[0].Line);
        Assert.Equal("training.learningRate", errors[0].Path);
        Assert.Equal(5, errors[1].Line);
        Assert.Null(errors[2].Line); // the field is not in the text: the error still shows, without a line
        Assert.Equal("witnesses.quorum: must be in [1, 1]", errors[2].ToString());
    }

    [Fact]
    public void Spec_errors_of_unparsable_text_still_show_every_message()
    {
        var errors = SpecErrors.Locate("name: [unclosed\n", ["rounds: must be in [1, 100000]", "something odd"]);
        Assert.Equal(["rounds", null], errors.Select(e => e.Path));
        Assert.All(errors, e => Assert.Null(e.Line));
    }

    [Fact]
    public void Coverage_shows_the_layer_maps_served_blocks_and_its_readiness()
    {
        var map = new LayerMapView
        {
            Blocks = 8,
            Assignments = new() { ["a"] = new LayerRange(0, 4), ["b"] = new LayerRange(4, 8) },
            Serving = new() { ["a"] = new LayerRange(0, 4) },
            ServingReplicas = [1, 1, 1, 1, 0, 0, 0, 0],
            ReadyForInference = false,
        };
        var partial = LayerCoverage.From(map);
        Assert.Equal((8, 4, 1, false), (partial.Blocks, partial.CoveredBlocks, partial.ServingWorkers, partial.Ready));
        Assert.Equal(0.5, partial.Fraction);
        Assert.Equal((0, false), (LayerCoverage.From(null).Blocks, LayerCoverage.From(null).Ready));
    }

    [Fact]
    public void Formats_read_as_an_operator_expects()
    {
        var now = DateTimeOffset.Parse("2026-01-01T12:00:00Z");
        Assert.Equal("just now", Format.Ago(now.AddSeconds(-1), now));
        Assert.Equal("42 s ago", Format.Ago(now.AddSeconds(-42), now));
        Assert.Equal("3 min ago", Format.Ago(now.AddMinutes(-3), now));
        Assert.Equal("—", Format.Ago(default, now));
        Assert.Equal("24 GiB", Format.Bytes(24L << 30));
        Assert.Equal("—", Format.Bytes(0));
        Assert.Equal("81.3 %", Format.Percent(0.8125));
        Assert.Equal("—", Format.Percent(double.NaN));
        Assert.Equal("Round train", StateStyle.Words(RunState.RoundTrain));
    }

    [Theory]
    [InlineData(RunState.Created, true, false, false, true)]
    [InlineData(RunState.RoundTrain, false, true, false, true)]
    [InlineData(RunState.Paused, false, false, true, true)]
    [InlineData(RunState.Finished, false, false, false, false)]
    public void Run_commands_follow_the_lifecycle(RunState state, bool start, bool pause, bool resume, bool cancel)
    {
        Assert.Equal(start, StateStyle.CanStart(state));
        Assert.Equal(pause, StateStyle.CanPause(state));
        Assert.Equal(resume, StateStyle.CanResume(state));
        Assert.Equal(cancel, StateStyle.CanCancel(state));
    }
}
