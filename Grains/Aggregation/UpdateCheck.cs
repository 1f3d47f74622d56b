using System.Numerics.Tensors;
using System.Text;
using Regatta.Learning.Weights;

namespace Regatta.Grains.Aggregation;

/// <summary>
/// Decides whether a client's update (a delta: client weights − global weights) may enter a round.
/// Each check returns <c>null</c> when the update is acceptable, otherwise a reason meant for people
/// (job error text, dashboard). Checks run in this order and the first failure is reported:
/// example count, layout (names and shapes), non-finite values, L2 norm bound.
/// </summary>
public static class UpdateCheck
{
    // Floats per block whose sum of squares is taken in float32 (SIMD) before it is added to a double total.
    private const int Block = 16 * 1024;
    private const int TensorsNamed = 5;

    /// <param name="layout">The global model (only its names and shapes are used).</param>
    /// <param name="update">The client's delta, tensor by tensor.</param>
    /// <param name="examples">The client's example count, used as its weight.</param>
    /// <param name="maxNorm">Largest accepted L2 norm of the whole delta; 0 means no bound.</param>
    public static string? Check(ModelWeights layout, ModelWeights update, double examples, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(update);
        CheckBound(maxNorm);
        if (ExampleProblem(examples) is { } problem) return problem;
        if (!layout.SameLayoutAs(update, out var difference)) return $"layout mismatch: {difference}";
        var scan = new Scan();
        foreach (var t in update.Tensors) scan.Add(t.Name, t.Data);
        return scan.Verdict(maxNorm);
    }

    /// <summary>The same checks for a delta already flattened in canonical tensor order.</summary>
    public static string? Check(ModelWeights layout, ReadOnlySpan<float> flatDelta, double examples, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(layout);
        CheckBound(maxNorm);
        if (ExampleProblem(examples) is { } problem) return problem;
        if (flatDelta.Length != layout.ParameterCount)
            return $"layout mismatch: expected {layout.ParameterCount} values, got {flatDelta.Length}";
        var scan = new Scan();
        var offset = 0;
        foreach (var t in layout.Tensors)
        {
            scan.Add(t.Name, flatDelta.Slice(offset, t.Data.Length));
            offset += t.Data.Length;
        }
        return scan.Verdict(maxNorm);
    }

    /// <summary>L2 norm with float32 SIMD per block and double accumulation across blocks; non-finite values are skipped.</summary>
    public static double L2Norm(ReadOnlySpan<float> values) => Math.Sqrt(SumOfSquares(values, out _, out _));

    /// <summary>
    /// Sum of squares of the finite values, in double. Each block is summed by
    /// <see cref="TensorPrimitives.SumOfSquares(ReadOnlySpan{float})"/>; a non-finite block result means
    /// a NaN/infinity or a float32 overflow, and only then is the block walked one value at a time.
    /// </summary>
    internal static double SumOfSquares(ReadOnlySpan<float> values, out int nan, out int infinite)
    {
        double sum = 0;
        nan = 0;
        infinite = 0;
        for (var i = 0; i < values.Length; i += Block)
        {
            var block = values.Slice(i, Math.Min(Block, values.Length - i));
            var s = TensorPrimitives.SumOfSquares(block);
            if (float.IsFinite(s))
            {
                sum += s;
                continue;
            }
            foreach (var v in block)
            {
                if (float.IsNaN(v)) nan++;
                else if (float.IsInfinity(v)) infinite++;
                else sum += (double)v * v;
            }
        }
        return sum;
    }

    private static void CheckBound(double maxNorm)
    {
        if (double.IsNaN(maxNorm) || maxNorm < 0)
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "norm bound must be 0 (none) or positive");
    }

    private static string? ExampleProblem(double examples) =>
        double.IsNaN(examples) || examples <= 0 || double.IsInfinity(examples)
            ? $"example count must be positive, got {Guard.Format(examples)}"
            : null;

    private sealed class Scan
    {
        private double _sumOfSquares;
        private int _badTensors;
        private long _badValues;
        private readonly StringBuilder _detail = new();

        public void Add(string name, ReadOnlySpan<float> data)
        {
            _sumOfSquares += SumOfSquares(data, out var nan, out var infinite);
            if (nan + infinite == 0) return;
            _badValues += nan + infinite;
            if (_badTensors++ < TensorsNamed)
            {
                if (_detail.Length > 0) _detail.Append("; ");
                _detail.Append($"tensor '{name}' has {nan + infinite} of {data.Length} ({nan} NaN, {infinite} infinite)");
            }
        }

        public string? Verdict(double maxNorm)
        {
            if (_badTensors > 0)
            {
                var more = _badTensors > TensorsNamed ? $"; and {_badTensors - TensorsNamed} more tensors" : "";
                return $"non-finite values ({_badValues} in {_badTensors} tensors): {_detail}{more}";
            }
            var norm = Math.Sqrt(_sumOfSquares);
            if (maxNorm > 0 && norm > maxNorm)
                return $"update L2 norm {Guard.Format(norm)} exceeds the bound {Guard.Format(maxNorm)}";
            return null;
        }
    }
}
