using Regatta.Grains.Aggregation;
using Regatta.Learning.Weights;

namespace Regatta.Grains.Tests.Aggregation;

public class UpdateCheckTests
{
    private static readonly ModelWeights Global = Layout([0, 0, 0, 0], [0, 0]);

    private static ModelWeights Layout(float[] w, float[] b, string wName = "fc.weight", int[]? wShape = null) =>
        new([new NamedTensor(wName, wShape ?? [2, 2], w), new NamedTensor("fc.bias", [2], b)]);

    [Fact]
    public void A_good_update_passes()
    {
        // ‖[3,4,0,0,0,0]‖ = 5 ≤ 5
        Assert.Null(UpdateCheck.Check(Global, Layout([3, 4, 0, 0], [0, 0]), 10, 5));
        Assert.Null(UpdateCheck.Check(Global, Layout([3e10f, 4, 0, 0], [0, 0]), 10, 0)); // 0 = no bound
    }

    [Fact]
    public void Norm_over_the_bound_is_refused_with_norm_and_bound()
    {
        // ‖[3,4,0,0,0,0]‖ = √(9+16) = 5 > 4
        var reason = UpdateCheck.Check(Global, Layout([3, 4, 0, 0], [0, 0]), 10, 4);
        Assert.Equal("update L2 norm 5 exceeds the bound 4", reason);
        // Also in the flat form; ‖[0,0,0,0,6,8]‖ = 10 > 9.5
        Assert.Equal("update L2 norm 10 exceeds the bound 9.5", UpdateCheck.Check(Global, [0, 0, 0, 0, 6, 8], 10, 9.5));
    }

    [Fact]
    public void NaN_and_infinity_are_refused_naming_the_tensor_and_count()
    {
        var nan = UpdateCheck.Check(Global, Layout([float.NaN, 1, float.NaN, 0], [0, 0]), 10, 100);
        Assert.NotNull(nan);
        Assert.Contains("non-finite", nan);
        Assert.Contains("tensor 'fc.weight' has 2 of 4 (2 NaN, 0 infinite)", nan);

        var inf = UpdateCheck.Check(Global, Layout([0, 0, 0, 0], [float.NegativeInfinity, 1]), 10, 0);
        Assert.NotNull(inf);
        Assert.Contains("tensor 'fc.bias' has 1 of 2 (0 NaN, 1 infinite)", inf);

        var flat = UpdateCheck.Check(Global, [0, 0, 0, float.PositiveInfinity, float.NaN, 0], 10, 0);
        Assert.NotNull(flat);
        Assert.Contains("'fc.weight' has 1 of 4", flat);
        Assert.Contains("'fc.bias' has 1 of 2", flat);
    }

    [Fact]
    public void Wrong_shape_or_name_is_a_layout_mismatch()
    {
        var shape = UpdateCheck.Check(Global, Layout([0, 0, 0, 0], [0, 0], wShape: [4]), 10, 0);
        Assert.Equal("layout mismatch: tensor 'fc.weight': expected shape [2,2], got [4]", shape);
        var name = UpdateCheck.Check(Global, Layout([0, 0, 0, 0], [0, 0], wName: "conv.weight"), 10, 0);
        Assert.Equal("layout mismatch: tensor 0: expected name 'fc.weight', got 'conv.weight'", name);
        var missing = UpdateCheck.Check(Global, new ModelWeights([new NamedTensor("fc.weight", [2, 2], [0, 0, 0, 0])]), 10, 0);
        Assert.Equal("layout mismatch: expected 2 tensors, got 1", missing);
        Assert.Equal("layout mismatch: expected 6 values, got 5", UpdateCheck.Check(Global, [0, 0, 0, 0, 0], 10, 0));
    }

    [Fact]
    public void Non_positive_example_count_is_refused()
    {
        var good = Layout([0, 0, 0, 0], [0, 0]);
        Assert.Equal("example count must be positive, got 0", UpdateCheck.Check(Global, good, 0, 0));
        Assert.Equal("example count must be positive, got -3", UpdateCheck.Check(Global, good, -3, 0));
        Assert.NotNull(UpdateCheck.Check(Global, good, double.NaN, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => UpdateCheck.Check(Global, good, 1, -1));
    }

    [Fact]
    public void Norm_is_accurate_over_many_values_and_survives_float_overflow()
    {
        // 1e6 values of 0.001: √(1e6 · 1e-6) = 1
        var many = Enumerable.Repeat(0.001f, 1_000_000).ToArray();
        Assert.Equal(1.0, UpdateCheck.L2Norm(many), 4);
        // (3e20)² overflows float32 but not double: ‖[3e20, 4e20]‖ = 5e20
        Assert.Equal(5e20, UpdateCheck.L2Norm([3e20f, 4e20f]), 5e20 * 1e-6);
    }
}
