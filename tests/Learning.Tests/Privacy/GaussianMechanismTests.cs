using Regatta.Learning.Privacy;

namespace Regatta.Learning.Tests.Privacy;

/// <summary>
/// The noise has the configured distribution (moments and the one-σ mass within 5 standard errors, so a correct
/// generator fails about once in 10⁶ runs) and clipping bounds the norm without touching updates already inside it.
/// </summary>
public class GaussianMechanismTests
{
    private const int N = 1 << 20;

    [Theory]
    [InlineData(0.7)]
    [InlineData(3e-3)]
    public void Noise_has_mean_zero_and_the_configured_standard_deviation(double std)
    {
        var values = new float[N];
        GaussianMechanism.AddNoise(values, std);

        double sum = 0, squares = 0, fourth = 0;
        var withinOne = 0;
        foreach (var v in values)
        {
            sum += v;
            squares += (double)v * v;
            fourth += Math.Pow(v, 4);
            if (Math.Abs(v) <= std) withinOne++;
        }
        var mean = sum / N;
        var variance = squares / N - mean * mean;
        Assert.True(Math.Abs(mean) < 5 * std / Math.Sqrt(N), $"mean {mean}");
        // The sample variance of N normals has relative standard error √(2/N).
        Assert.True(Math.Abs(variance / (std * std) - 1) < 5 * Math.Sqrt(2.0 / N), $"std {Math.Sqrt(variance)}, expected {std}");
        // Gaussian tails: kurtosis 3 (standard error √(24/N), allowed 10 of them: a fourth moment is noisy), 68.27 % within one σ.
        var kurtosis = fourth / N / (variance * variance);
        Assert.True(Math.Abs(kurtosis - 3) < 10 * Math.Sqrt(24.0 / N), $"kurtosis {kurtosis}");
        const double p = 0.682689492;
        Assert.True(Math.Abs(withinOne / (double)N - p) < 5 * Math.Sqrt(p * (1 - p) / N), $"mass within 1σ {withinOne / (double)N}");
    }

    [Fact]
    public void Successive_draws_are_uncorrelated_and_never_repeat()
    {
        var a = new float[N];
        var b = new float[N];
        GaussianMechanism.AddNoise(a, 1);
        GaussianMechanism.AddNoise(b, 1);
        double lag = 0, cross = 0;
        for (var i = 0; i < N; i++)
        {
            if (i > 0) lag += a[i] * (double)a[i - 1];
            cross += a[i] * (double)b[i];
        }
        Assert.True(Math.Abs(lag / N) < 5 / Math.Sqrt(N), $"lag-1 correlation {lag / N}");
        Assert.True(Math.Abs(cross / N) < 5 / Math.Sqrt(N), $"correlation between draws {cross / N}");
        Assert.False(a.AsSpan().SequenceEqual(b));
    }

    [Fact]
    public void Clipping_scales_a_long_update_to_the_norm_and_leaves_a_short_one_alone()
    {
        var huge = Enumerable.Range(0, 1000).Select(i => (i % 2 == 0 ? 1 : -1) * 31_622.8f).ToArray(); // norm ≈ 10⁶
        Assert.Equal(1e6, GaussianMechanism.Clip(huge, 2.5), tolerance: 2.0); // returns the norm it had
        Assert.Equal(2.5, GaussianMechanism.Norm(huge), 4);
        Assert.Equal(31_622.8f / 1e6f * 2.5f, huge[0], 4);

        float[] small = [0.3f, -0.4f];
        GaussianMechanism.Clip(small, 2.5);
        Assert.Equal([0.3f, -0.4f], small);
    }

    [Fact]
    public void Zero_noise_changes_nothing_and_a_negative_one_is_refused()
    {
        float[] values = [1, 2, 3];
        GaussianMechanism.AddNoise(values, 0);
        Assert.Equal([1f, 2f, 3f], values);
        Assert.Throws<ArgumentOutOfRangeException>(() => GaussianMechanism.AddNoise(values, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => GaussianMechanism.Clip(values, 0));
    }
}
