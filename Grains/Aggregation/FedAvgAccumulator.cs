using System.Numerics.Tensors;

namespace Regatta.Grains.Aggregation;

/// <summary>
/// Streaming weighted average of deltas (FedAvg; FedProx and FedAdam use the same server-side average).
/// Each update is folded into one running sum as it arrives — <c>sum += examples × delta</c> — so memory
/// is one model-sized float array however many clients report; no client's copy is kept, and an update
/// once added cannot be taken out (there is deliberately no Remove: check updates with
/// <see cref="UpdateCheck"/> before adding them).
/// </summary>
/// <remarks>
/// Precision: the sum is float32, folded with <see cref="TensorPrimitives.MultiplyAdd(ReadOnlySpan{float}, float, ReadOnlySpan{float}, Span{float})"/>.
/// The relative rounding error of each coordinate grows at worst like K·2⁻²⁴ for K updates (typically √K·2⁻²⁴),
/// i.e. below 10⁻⁴ even for a thousand clients — far under the noise of a stochastic gradient step — while
/// Kahan compensation would need a second model-sized array and two more memory streams per update
/// (about 1.7× the time of this memory-bound loop), and a double accumulator would double the memory and
/// need a float→double conversion of every delta. The total weight is kept in double.
/// </remarks>
public sealed class FedAvgAccumulator
{
    private float[]? _sum;

    public FedAvgAccumulator(int length)
    {
        Guard.ModelLength(length, nameof(length));
        _sum = new float[length];
        Length = length;
    }

    public int Length { get; }

    /// <summary>Updates folded in so far.</summary>
    public int Count { get; private set; }

    /// <summary>Sum of the weights (example counts) folded in so far.</summary>
    public double TotalWeight { get; private set; }

    /// <summary>Folds <paramref name="examples"/> × <paramref name="delta"/> into the running sum.</summary>
    /// <exception cref="ArgumentException">Wrong length, a weight that is not positive and finite, or a non-finite value in the delta (the sum is left untouched).</exception>
    public void Add(ReadOnlySpan<float> delta, double examples)
    {
        var sum = _sum ?? throw Detached();
        Guard.Length(delta.Length, Length, nameof(delta));
        Guard.Weight(examples, nameof(examples));
        // Refuse a poisoned update before anything is folded: a NaN in the sum could never be removed.
        // This is a read-only SIMD pass; the fold below is a single fused loop over the whole span.
        Guard.Finite(delta, "delta", nameof(delta));
        var w = (float)examples;
        TensorPrimitives.MultiplyAdd(delta, w, sum, sum);
        Count++;
        TotalWeight += w; // the weight actually applied, so that Result divides by exactly what was summed
    }

    /// <summary>The weighted mean delta, Σ wᵢ·Δᵢ / Σ wᵢ, as a new array. The accumulator stays usable.</summary>
    /// <exception cref="ArgumentException">No update was added.</exception>
    public float[] Result()
    {
        var result = new float[Length];
        WriteResult(result);
        return result;
    }

    /// <summary>Writes the weighted mean delta into <paramref name="destination"/> (no allocation).</summary>
    public void WriteResult(Span<float> destination)
    {
        var sum = _sum ?? throw Detached();
        if (Count == 0) throw Guard.Empty(nameof(Count));
        Guard.Length(destination.Length, Length, nameof(destination));
        TensorPrimitives.Divide(sum, (float)TotalWeight, destination);
    }

    /// <summary>Turns the running sum into the mean in place and hands over that array; the accumulator is finished.</summary>
    internal float[] DetachResult()
    {
        var sum = _sum ?? throw Detached();
        WriteResult(sum);
        _sum = null;
        return sum;
    }

    private static InvalidOperationException Detached() => new("this accumulator's result was already taken");
}
