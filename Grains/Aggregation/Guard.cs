using System.Globalization;
using System.Numerics.Tensors;

namespace Regatta.Grains.Aggregation;

/// <summary>Argument checks shared by the aggregators; every failure names the problem.</summary>
internal static class Guard
{
    public static void Length(int actual, int expected, string paramName)
    {
        if (actual != expected)
            throw new ArgumentException($"update has {actual} values but the model has {expected}", paramName);
    }

    public static void ModelLength(int length, string paramName)
    {
        if (length <= 0)
            throw new ArgumentOutOfRangeException(paramName, length, "model length must be positive");
    }

    /// <summary>An example count used as a weight: positive and finite (also once rounded to float32).</summary>
    public static void Weight(double examples, string paramName)
    {
        if (double.IsNaN(examples) || examples <= 0 || !float.IsFinite((float)examples))
            throw new ArgumentException($"example count (weight) must be positive and finite, got {Format(examples)}", paramName);
    }

    public static bool IsFinite(ReadOnlySpan<float> values) => TensorPrimitives.IsFiniteAll(values);

    public static void Finite(ReadOnlySpan<float> values, string what, string paramName)
    {
        if (!TensorPrimitives.IsFiniteAll(values))
            throw new ArgumentException($"{what} contains non-finite values (NaN or infinity)", paramName);
    }

    /// <summary>
    /// A copy of <paramref name="values"/>, or null if one is not finite. One pass: each block is checked in the copy
    /// while it is in L1, and the array is not zeroed first (every value is written).
    /// </summary>
    public static float[]? FiniteCopy(ReadOnlySpan<float> values)
    {
        const int block = 16 * 1024;
        var copy = GC.AllocateUninitializedArray<float>(values.Length);
        for (var i = 0; i < values.Length; i += block)
        {
            var n = Math.Min(block, values.Length - i);
            var into = copy.AsSpan(i, n);
            values.Slice(i, n).CopyTo(into);
            if (!TensorPrimitives.IsFiniteAll<float>(into)) return null;
        }
        return copy;
    }

    public static ArgumentException Empty(string paramName) =>
        new("no updates to aggregate: the round is empty", paramName);

    public static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
