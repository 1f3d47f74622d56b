using Regatta.Runs;

namespace Regatta.Dashboard.Views;

/// <summary>One line of a chart: a name and one value per round, null where the round did not measure it.</summary>
public sealed record Series(string Name, IReadOnlyList<double?> Values)
{
    public bool HasData => Values.Any(v => v is not null);
}

/// <summary>The loss, accuracy and (with differential privacy) ε lines of a run's charts, one point per committed round.</summary>
public sealed record RoundSeries(IReadOnlyList<string> Labels, IReadOnlyList<Series> Loss, IReadOnlyList<Series> Accuracy, IReadOnlyList<Series> Privacy)
{
    public bool IsEmpty => Labels.Count == 0;

    /// <summary>The most recent rounds only: a chart of thousands of points is unreadable and slow to draw.</summary>
    public const int MaxPoints = 200;

    public static RoundSeries From(IReadOnlyList<RoundRecord> rounds)
    {
        var shown = rounds.OrderBy(r => r.Round).TakeLast(MaxPoints).ToList();
        var labels = shown.Select(r => r.Round.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Series Line(string name, Func<RoundRecord, double> value) =>
            new(name, shown.Select(r => value(r) is var v && double.IsFinite(v) ? v : (double?)null).ToList());

        var loss = new[]
        {
            Line("train loss", r => r.TrainLoss),
            Line("witness loss", r => r.WitnessLoss),
            Line("validation loss", r => r.ValidationLoss),
        }.Where(s => s.HasData).ToList();
        var accuracy = new[]
        {
            Line("witness accuracy", r => r.WitnessAccuracy),
            Line("validation accuracy", r => r.ValidationAccuracy),
        }.Where(s => s.HasData).ToList();
        var privacy = new[] { Line("ε spent", r => r.Epsilon) }.Where(s => s.HasData).ToList();
        return new RoundSeries(labels, loss, accuracy, privacy);
    }
}
