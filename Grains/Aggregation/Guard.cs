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
    /// Copies <paramref name="values"/> into <paramref name="into"/> (same length) and says whether every value is finite.
    /// One pass: each block is checked in the copy while it is in L1. On false the copy is incomplete.
    /// </summary>
    public static bool TryCopyFinite(ReadOnlySpan<float> values, float[] into)
    {
        const int block = 16 * 1024;
        for (var i = 0; i < values.Length; i += block)
        {
            var n = Math.Min(block, values.Length - i);
            var copy = into.AsSpan(i, n);
            values.Slice(i, n).CopyTo(copy);
            if (!TensorPrimitives.IsFiniteAll<float>(copy)) return false;
        }
        return true;
    }

    public static ArgumentException Empty(string paramName) =>
        new("no updates to aggregate: the round is empty", paramName);

    public static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
