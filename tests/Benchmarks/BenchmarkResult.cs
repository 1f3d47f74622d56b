namespace Regatta.Benchmarks;

/// <summary>
/// One row of the report: our figure against a baseline measured in the same run.
/// <see cref="Ratio"/> is ours / baseline; <see cref="Target"/> says in words what the ratio (or figure) must reach.
/// A missing baseline leaves <see cref="Baseline"/> and <see cref="Ratio"/> null and <see cref="Met"/> false.
/// A row without a target (reported for information) has <see cref="Met"/> null: "—" in the table, null in the JSON,
/// and it is not counted among the targets.
/// </summary>
public sealed record BenchmarkResult(
    string Scenario,
    double? Ours,
    double? Baseline,
    string Unit,
    double? Ratio,
    string Target,
    bool? Met,
    string? Note = null)
{
    public static BenchmarkResult Compare(string scenario, double ours, double? baseline, string unit, string target, Func<double, bool> meets, string? note = null)
    {
        double? ratio = baseline is > 0 ? ours / baseline.Value : null;
        return new(scenario, ours, baseline, unit, ratio, target, ratio is { } r && meets(r), note);
    }

    /// <summary>A comparison without a target: the ratio is reported, nothing is met or missed.</summary>
    public static BenchmarkResult Report(string scenario, double ours, double? baseline, string unit, string? note = null) =>
        new(scenario, ours, baseline, unit, baseline is > 0 ? ours / baseline.Value : null, "— (report only)", null, note);
}
