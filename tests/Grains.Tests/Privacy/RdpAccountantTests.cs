using Regatta.Grains.Privacy;

namespace Regatta.Grains.Tests.Privacy;

/// <summary>
/// The accountant against published values and against an independent computation: TF-Privacy's MNIST DP-SGD table
/// (tutorials/README.md of tensorflow/privacy: q = 256/60000, δ = 1e-5, ε reported with Mironov 2017's conversion),
/// and rdp_reference.py next to this file, which integrates A_α numerically instead of summing the series.
/// </summary>
public class RdpAccountantTests
{
    private const double Tolerance = 0.01; // relative, as the issue asks

    [Theory]
    // noise multiplier, epochs → steps = epochs · 60000 / 256, published ε
    [InlineData(1.12, 14062, 2.92)]
    [InlineData(0.6, 7031, 9.74)]
    [InlineData(1.2, 2343, 1.20)]
    public void Matches_the_published_tf_privacy_mnist_table(double sigma, int steps, double published)
    {
        var rdp = RdpAccountant.Compose(256 / 60000.0, sigma, steps);
        AssertClose(published, RdpAccountant.ClassicEpsilon(rdp, 1e-5));
    }

    [Theory]
    // q, σ, steps, δ, ε (Balle et al. / Opacus), ε (Mironov 2017) from rdp_reference.py
    [InlineData(256 / 60000.0, 1.12, 14062, 1e-5, 2.518590, 2.922239)]
    [InlineData(256 / 60000.0, 0.6, 7031, 1e-5, 8.769489, 9.752720)]
    [InlineData(256 / 60000.0, 1.2, 2343, 1e-5, 0.931622, 1.198237)]
    [InlineData(0.01, 1.0, 1000, 1e-5, 2.101365, 2.537983)]
    [InlineData(0.1, 2.0, 100, 1e-6, 2.914173, 3.328044)]
    [InlineData(0.5, 3.0, 50, 1e-5, 6.109579, 6.792045)]
    [InlineData(1.0, 5.0, 10, 1e-5, 2.813653, 3.234859)]
    public void Matches_an_independent_numerical_integration(double q, double sigma, int steps, double delta, double opacus, double classic)
    {
        var rdp = RdpAccountant.Compose(q, sigma, steps);
        AssertClose(opacus, RdpAccountant.Epsilon(rdp, delta));
        AssertClose(classic, RdpAccountant.ClassicEpsilon(rdp, delta));
    }

    [Fact]
    public void Composition_adds_rdp_so_per_round_spending_equals_spending_all_at_once()
    {
        var total = new double[RdpAccountant.Orders.Count];
        for (var round = 0; round < 40; round++)
        {
            var step = RdpAccountant.Step(0.2, 1.5);
            for (var i = 0; i < total.Length; i++) total[i] += step[i];
        }
        Assert.Equal(RdpAccountant.Epsilon(RdpAccountant.Compose(0.2, 1.5, 40), 1e-5), RdpAccountant.Epsilon(total, 1e-5), 9);
    }

    [Fact]
    public void More_noise_less_sampling_and_fewer_steps_each_spend_less()
    {
        double Eps(double q, double sigma, int steps) => RdpAccountant.Epsilon(RdpAccountant.Compose(q, sigma, steps), 1e-5);
        Assert.True(Eps(0.1, 2, 100) < Eps(0.1, 1, 100));
        Assert.True(Eps(0.05, 1, 100) < Eps(0.1, 1, 100));
        Assert.True(Eps(0.1, 1, 50) < Eps(0.1, 1, 100));
        Assert.All(RdpAccountant.Compose(0, 1, 100), r => Assert.Equal(0, r)); // nobody sampled: nothing spent
    }

    [Theory]
    [InlineData(1.0, 1e-5, 1.0, 10)]
    [InlineData(3.0, 1e-5, 0.1, 100)]
    [InlineData(8.0, 1e-6, 0.5, 30)]
    public void Solved_noise_multiplier_meets_the_target_and_barely(double target, double delta, double q, int steps)
    {
        var sigma = RdpAccountant.NoiseMultiplierFor(target, delta, q, steps);
        Assert.NotNull(sigma);
        var spent = RdpAccountant.Epsilon(RdpAccountant.Compose(q, sigma.Value, steps), delta);
        Assert.True(spent <= target, $"σ = {sigma} spends ε = {spent} > {target}");
        Assert.True(spent > target * 0.99, $"σ = {sigma} spends only ε = {spent}: the solver gave more noise than needed");
    }

    [Fact]
    public void An_unreachable_target_has_no_noise_multiplier()
    {
        Assert.Null(RdpAccountant.NoiseMultiplierFor(1e-4, 1e-5, 1, 100_000, maxSigma: 10));
    }

    private static void AssertClose(double expected, double actual) =>
        Assert.True(Math.Abs(actual - expected) <= Tolerance * expected, $"ε = {actual}, expected {expected} ± {Tolerance:P0}");
}
