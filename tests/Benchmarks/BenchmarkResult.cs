namespace Regatta.Benchmarks;

/// <summary>
/// One row of the report: our figure against a baseline measured in the same run.
/// <see cref="Ratio"/> is ours / baseline; <see cref="Target"/> says in words what the ratio (or figure) must reach.
/// A missing baseline leaves <see cref="Baseline"/> and <see cref="Ratio"/> null and <see cref="Met"/> false.
/// </summary>
public sealed record BenchmarkResult(
    string Scenario,
    double? Ours,
    double? Baseline,
    string Unit,
    double? Ratio,
    string Target,
    bool Met,
    string? Note = null)
{
    public static BenchmarkResult Compare(string scenario, double ours, double? baseline, string unit, string target, Func<double, bool> meets, string? note = null)
    {
        double? ratio = baseline is > 0 ? ours / baseline.Value : null;
        return new(scenario, ours, baseline, unit, ratio, target, ratio is { } r && meets(r), note);
    }
}
