using System.Globalization;
using Regatta.Grains.Runs;
using Regatta.Runs;

namespace Regatta.Grains.Privacy;

/// <summary>
/// A run's differential-privacy ledger: the noise multiplier a target ε asks for, the sampling rate of a round, the
/// RDP spent so far (kept in <see cref="RunData"/>, so it survives restarts and is never rolled back by a restore),
/// and whether one more round fits the budget.
/// </summary>
/// <remarks>
/// One step is one release: in central mode a noised aggregate (every candidate built, whether it is then committed or
/// refused); in local mode every round attempt, whose selected members each upload one noised update. Members are the
/// unit of privacy (user-level DP, McMahan et al. 2018, "Learning Differentially Private Recurrent Language Models").
/// Central rounds are amplified by sampling, with q = selected / ready members, treating selection as Poisson
/// sampling, as DP-FedAvg's accounting does; a local update is seen by the coordinator unsampled (q = 1).
/// </remarks>
public static class PrivacyBudget
{
    /// <summary>Strategies whose aggregate is the mean of the updates, the only ones the noise is calibrated for.</summary>
    public static bool IsMean(AggregationStrategy strategy) =>
        strategy is AggregationStrategy.FedAvg or AggregationStrategy.FedProx or AggregationStrategy.FedAdam;

    /// <summary>
    /// The sampling rate a round will have at most, before members are known: 1 for all, the fraction, or k over the
    /// fewest members a round runs with (minClients).
    /// </summary>
    public static double PlannedSamplingRate(RunSpec spec)
    {
        if (spec.Privacy.Dp is { Mode: DpMode.Local }) return 1;
        return spec.Selection.Strategy switch
        {
            SelectionStrategy.Fraction => Math.Clamp(spec.Selection.Fraction, 0, 1),
            SelectionStrategy.RandomK => Math.Min(1, spec.Selection.K / (double)Math.Max(1, spec.MinClients)),
            _ => 1,
        };
    }

    /// <summary>The noise multiplier for a target ε over the planned rounds, or null when none up to 1000 reaches it.</summary>
    public static double? Solve(RunSpec spec)
    {
        var dp = spec.Privacy.Dp!;
        return RdpAccountant.NoiseMultiplierFor(dp.TargetEpsilon, dp.Delta, PlannedSamplingRate(spec), spec.Rounds);
    }

    /// <summary>The spec with a target ε turned into the noise multiplier every party then uses (members read it from their assignment).</summary>
    public static RunSpec Resolve(RunSpec spec)
    {
        if (spec.Privacy.Dp is not { NoiseMultiplier: 0, TargetEpsilon: > 0 } dp) return spec;
        var sigma = Solve(spec) ?? throw new RegattaException("invalid_spec", "privacy.dp.targetEpsilon: cannot be reached");
        return spec with { Privacy = spec.Privacy with { Dp = dp with { NoiseMultiplier = sigma } } };
    }

    /// <summary>The sampling rate a round's release counts with: selected over ready members, or 1 in local mode.</summary>
    public static double SamplingRate(DpSpec dp, int selected, int ready) =>
        dp.Mode == DpMode.Local || ready <= 0 ? 1 : Math.Min(1, selected / (double)ready);

    /// <summary>ε the run would have spent after one more release at rate <paramref name="q"/>.</summary>
    public static double EpsilonAfterStep(RunData data, DpSpec dp, double q)
    {
        var step = RdpAccountant.Step(q, dp.NoiseMultiplier);
        if (data.PrivacyRdp is { } spent)
            for (var i = 0; i < step.Length; i++) step[i] += spent[i];
        return RdpAccountant.Epsilon(step, dp.Delta);
    }

    /// <summary>Records one release at rate <paramref name="q"/>; returns the ε spent now.</summary>
    public static double Spend(RunData data, DpSpec dp, double q)
    {
        var step = RdpAccountant.Step(q, dp.NoiseMultiplier);
        var spent = data.PrivacyRdp ??= new double[step.Length];
        for (var i = 0; i < step.Length; i++) spent[i] += step[i];
        data.PrivacyReleases++;
        return data.Epsilon = RdpAccountant.Epsilon(spent, dp.Delta);
    }

    /// <summary>Why one more round at rate <paramref name="q"/> would overspend the budget, or null when it fits (or there is none).</summary>
    public static string? Exhausted(RunData data, DpSpec dp, double q)
    {
        if (dp.MaxEpsilon <= 0) return null;
        var next = EpsilonAfterStep(data, dp, q);
        return next <= dp.MaxEpsilon ? null : string.Create(CultureInfo.InvariantCulture,
            $"privacy budget reached: ε = {data.Epsilon:F3} spent, one more round would spend ε = {next:F3} > maxEpsilon {dp.MaxEpsilon} (δ = {dp.Delta})");
    }
}
