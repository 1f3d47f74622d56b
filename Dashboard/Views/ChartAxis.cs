using System.Globalization;

namespace Regatta.Dashboard.Views;

/// <summary>
/// A readable Y axis for small values. MudBlazor's line chart spaces its ticks in whole units, so a loss of 0.3–0.7 or
/// an accuracy of 0.5–0.9 would sit flat on one tick: values are scaled by a power of ten so that a "nice" step
/// (1, 2 or 5 × 10^k) becomes a whole number, and the axis labels divide the scale back out.
/// </summary>
public sealed record ChartAxis(double Factor, int Ticks, string Format)
{
    public const int TargetTicks = 5;

    public static ChartAxis For(IEnumerable<Series> lines, string format)
    {
        var values = lines.SelectMany(s => s.Values).OfType<double>().Where(double.IsFinite).ToList();
        if (values.Count == 0) return new ChartAxis(1, 1, format);
        var range = values.Max() - values.Min();
        if (range <= 0) range = Math.Max(Math.Abs(values.Max()), 1e-3);
        var step = NiceStep(range / TargetTicks);
        var factor = step >= 1 ? 1 : Math.Pow(10, Math.Ceiling(-Math.Log10(step) - 1e-9));
        return new ChartAxis(factor, Math.Max(1, (int)Math.Round(step * factor)), format);
    }

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="rough"/>.</summary>
    public static double NiceStep(double rough)
    {
        var power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var mantissa = rough / power;
        return (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10) * power;
    }

    public IReadOnlyList<double?> Scale(IReadOnlyList<double?> values) => values.Select(v => v * Factor).ToList();

    public string Label(double scaled) => (scaled / Factor).ToString(Format, CultureInfo.InvariantCulture);
}
