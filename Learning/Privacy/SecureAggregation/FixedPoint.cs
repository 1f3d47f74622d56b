namespace Regatta.Learning.Privacy.SecureAggregation;

/// <summary>
/// Fixed-point encoding of float updates into Z_{2^32}: every value is clipped to [−range, range], shifted to
/// [0, 2·range] and scaled so that the sum of <paramref name="maxMembers"/> encodings stays below 2^32. The masked sum
/// therefore never wraps, and decoding it is exact up to half a step per member.
/// </summary>
public sealed class FixedPoint
{
    public FixedPoint(float range, int maxMembers)
    {
        if (!(range > 0) || !float.IsFinite(range)) throw new ArgumentOutOfRangeException(nameof(range), "the clipping range must be a finite number > 0");
        if (maxMembers < 1) throw new ArgumentOutOfRangeException(nameof(maxMembers), "at least one member");
        Range = range;
        MaxMembers = maxMembers;
        Scale = uint.MaxValue / (2.0 * range * maxMembers);
        Top = (uint)Math.Floor(2.0 * range * Scale);
        if (Top < 2) throw new ArgumentOutOfRangeException(nameof(maxMembers), $"{maxMembers} members leave fewer than 2 steps for a value in 32 bits");
    }

    public float Range { get; }
    public int MaxMembers { get; }
    /// <summary>Steps per unit.</summary>
    public double Scale { get; }
    /// <summary>The largest encoding of one value; MaxMembers × Top ≤ 2^32 − 1.</summary>
    public uint Top { get; }

    /// <summary>The largest error of a decoded sum of <paramref name="count"/> in-range values (half a step each).</summary>
    public double Tolerance(int count) => count * 0.5 / Scale;

    public uint[] Encode(ReadOnlySpan<float> values)
    {
        var encoded = new uint[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var v = float.IsNaN(values[i]) ? 0 : Math.Clamp((double)values[i], -Range, Range);
            encoded[i] = Math.Min(Top, (uint)Math.Floor((v + Range) * Scale + 0.5));
        }
        return encoded;
    }

    /// <summary>The sum of <paramref name="count"/> members' values from the sum of their encodings.</summary>
    public float[] DecodeSum(ReadOnlySpan<uint> sum, int count)
    {
        if (count < 1 || count > MaxMembers) throw new ArgumentOutOfRangeException(nameof(count), $"must be in [1, {MaxMembers}]");
        var values = new float[sum.Length];
        for (var i = 0; i < sum.Length; i++) values[i] = (float)(sum[i] / Scale - (double)count * Range);
        return values;
    }
}
