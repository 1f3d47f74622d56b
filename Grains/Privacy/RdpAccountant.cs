using MathNet.Numerics;

namespace Regatta.Grains.Privacy;

/// <summary>
/// Rényi differential privacy of the sampled Gaussian mechanism, and its conversion to (ε, δ)-DP: the analysis that
/// Opacus (<c>opacus/accountants/analysis/rdp.py</c>) and TensorFlow Privacy (<c>rdp_accountant.py</c>) compute.
/// </summary>
/// <remarks>
/// One step releases a sum of updates clipped to L2 norm C plus N(0, σ²C²) noise, each member taking part with
/// probability q (Poisson sampling). Its RDP at order α is log(A_α)/(α−1) (Mironov, Talwar, Zhang 2019, "Rényi
/// Differential Privacy of the Sampled Gaussian Mechanism", Sec. 3.3), where for integer α
/// <c>A_α = Σ_{i=0..α} C(α,i) (1−q)^(α−i) q^i exp((i²−i)/(2σ²))</c>, and for fractional α the two-sided series of
/// their Sec. 3.3 with z₀ = σ² log(1/q − 1) + ½ (summed until both terms fall below e⁻³⁰). At q = 1 it is the plain
/// Gaussian mechanism, α/(2σ²) (Mironov 2017, "Rényi Differential Privacy", Prop. 7). RDP composes by addition over
/// steps. (ε, δ) is the best over the orders of Balle et al. 2020 ("Hypothesis Testing Interpretations and Renyi
/// Differential Privacy", Thm. 21), as Opacus reports it: ε = rdp − (log δ + log α)/(α−1) + log((α−1)/α);
/// <see cref="ClassicEpsilon"/> is Mironov 2017 Prop. 3, ε = rdp − log δ/(α−1), which TF-Privacy's tables used.
/// </remarks>
public static class RdpAccountant
{
    /// <summary>Opacus' default orders: 1.1, 1.2, …, 10.9, then 12, 13, …, 63.</summary>
    public static IReadOnlyList<double> Orders { get; } =
        [.. Enumerable.Range(1, 99).Select(x => 1 + x / 10.0), .. Enumerable.Range(12, 52).Select(x => (double)x)];

    /// <summary>RDP of one step at every order of <see cref="Orders"/>.</summary>
    public static double[] Step(double q, double noiseMultiplier) => [.. Orders.Select(a => Rdp(q, noiseMultiplier, a))];

    /// <summary>RDP of <paramref name="steps"/> steps at every order of <see cref="Orders"/>.</summary>
    public static double[] Compose(double q, double noiseMultiplier, int steps) => [.. Step(q, noiseMultiplier).Select(r => r * steps)];

    /// <summary>RDP at order <paramref name="alpha"/> of one step of the sampled Gaussian mechanism.</summary>
    public static double Rdp(double q, double sigma, double alpha)
    {
        if (q is < 0 or > 1 || double.IsNaN(q)) throw new ArgumentOutOfRangeException(nameof(q), "must be in [0, 1]");
        if (q == 0) return 0;
        if (sigma <= 0) return double.PositiveInfinity;
        if (q == 1) return alpha / (2 * sigma * sigma);
        if (double.IsPositiveInfinity(alpha)) return double.PositiveInfinity;
        var logA = alpha == Math.Floor(alpha) ? LogAInteger(q, sigma, (int)alpha) : LogAFractional(q, sigma, alpha);
        return logA / (alpha - 1);
    }

    /// <summary>ε at <paramref name="delta"/> of a composed RDP curve (Balle et al. 2020, as Opacus).</summary>
    public static double Epsilon(IReadOnlyList<double> rdp, double delta) => Best(rdp, delta, classic: false);

    /// <summary>ε at <paramref name="delta"/> by Mironov 2017 Prop. 3 (TF-Privacy's conversion before 2020); never below <see cref="Epsilon"/>.</summary>
    public static double ClassicEpsilon(IReadOnlyList<double> rdp, double delta) => Best(rdp, delta, classic: true);

    /// <summary>
    /// The smallest noise multiplier (to 0.1 %) whose <paramref name="steps"/> steps at sampling rate
    /// <paramref name="q"/> spend at most <paramref name="targetEpsilon"/> at <paramref name="delta"/>; null when even
    /// <paramref name="maxSigma"/> spends more.
    /// </summary>
    public static double? NoiseMultiplierFor(double targetEpsilon, double delta, double q, int steps, double maxSigma = 1000)
    {
        double Spent(double sigma) => Epsilon(Compose(q, sigma, steps), delta);
        if (Spent(maxSigma) > targetEpsilon) return null;
        double low = 0.01, high = maxSigma;
        if (Spent(low) <= targetEpsilon) return low;
        while (high - low > 1e-3 * high)
        {
            var mid = (low + high) / 2;
            if (Spent(mid) > targetEpsilon) low = mid;
            else high = mid;
        }
        return high; // the side that meets the target
    }

    private static double Best(IReadOnlyList<double> rdp, double delta, bool classic)
    {
        if (rdp.Count != Orders.Count) throw new ArgumentException($"expected {Orders.Count} orders, got {rdp.Count}", nameof(rdp));
        if (delta is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(delta), "must be in (0, 1)");
        var best = double.PositiveInfinity;
        for (var i = 0; i < rdp.Count; i++)
        {
            var a = Orders[i];
            var eps = classic
                ? rdp[i] - Math.Log(delta) / (a - 1)
                : rdp[i] - (Math.Log(delta) + Math.Log(a)) / (a - 1) + Math.Log((a - 1) / a);
            if (!double.IsNaN(eps) && eps < best) best = eps;
        }
        return Math.Max(0, best);
    }

    private static double LogAInteger(double q, double sigma, int alpha)
    {
        var logA = double.NegativeInfinity;
        var logBinomial = 0.0; // log C(alpha, i)
        for (var i = 0; i <= alpha; i++)
        {
            if (i > 0) logBinomial += Math.Log(alpha - i + 1) - Math.Log(i);
            var s = logBinomial + i * Math.Log(q) + (alpha - i) * Math.Log(1 - q) + (i * (double)i - i) / (2 * sigma * sigma);
            logA = LogAdd(logA, s);
        }
        return logA;
    }

    private static double LogAFractional(double q, double sigma, double alpha)
    {
        double logA0 = double.NegativeInfinity, logA1 = double.NegativeInfinity;
        var z0 = sigma * sigma * Math.Log(1 / q - 1) + 0.5;
        var logAbsCoef = 0.0; // log |C(alpha, i)|, the generalised binomial coefficient
        var coefPositive = true;
        for (var i = 0; ; i++)
        {
            if (i > 0)
            {
                var factor = (alpha - i + 1) / i;
                logAbsCoef += Math.Log(Math.Abs(factor));
                if (factor < 0) coefPositive = !coefPositive;
            }
            var j = alpha - i;
            var logT0 = logAbsCoef + i * Math.Log(q) + j * Math.Log(1 - q);
            var logT1 = logAbsCoef + j * Math.Log(q) + i * Math.Log(1 - q);
            var logE0 = Math.Log(0.5) + LogErfc((i - z0) / (Math.Sqrt(2) * sigma));
            var logE1 = Math.Log(0.5) + LogErfc((z0 - j) / (Math.Sqrt(2) * sigma));
            var logS0 = logT0 + (i * (double)i - i) / (2 * sigma * sigma) + logE0;
            var logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
            if (coefPositive)
            {
                logA0 = LogAdd(logA0, logS0);
                logA1 = LogAdd(logA1, logS1);
            }
            else
            {
                logA0 = LogSub(logA0, logS0);
                logA1 = LogSub(logA1, logS1);
            }
            if (Math.Max(logS0, logS1) < -30 || i > 100_000) break;
        }
        return LogAdd(logA0, logA1);
    }

    /// <summary>log(erfc(x)), also where erfc(x) underflows (asymptotic series for large x).</summary>
    internal static double LogErfc(double x)
    {
        if (x < 20) return Math.Log(SpecialFunctions.Erfc(x));
        var x2 = x * x;
        // erfc(x) = exp(−x²)/(x√π) · (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + …)
        var series = 1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2);
        return -x2 - Math.Log(x) - 0.5 * Math.Log(Math.PI) + Math.Log(series);
    }

    private static double LogAdd(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        return Math.Max(a, b) + double.LogP1(Math.Exp(-Math.Abs(a - b)));
    }

    private static double LogSub(double x, double y)
    {
        if (double.IsNegativeInfinity(y)) return x;
        if (x <= y) return double.NegativeInfinity; // the series' partial sums stay positive; a tie cancels
        var d = y - x;
        return x + Math.Log(-double.ExpM1(d));
    }
}
