using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Security.Cryptography;
using Regatta.Learning.Weights;
using TorchSharp;

namespace Regatta.Learning.Privacy;

/// <summary>
/// The two halves of the Gaussian mechanism on a model update: clipping it to an L2 norm, and adding Gaussian noise
/// drawn from a cryptographically secure generator. The coordinator uses both on the round's sum (central DP); a member
/// uses both on its own update before upload (local DP).
/// </summary>
public static class GaussianMechanism
{
    /// <summary>Values drawn per TorchSharp batch: bounds the transient memory to a few MB whatever the model size.</summary>
    private const int Batch = 1 << 18;

    /// <summary>The update's L2 norm, in double (a float sum of squares overflows long before the norm does).</summary>
    public static double Norm(ReadOnlySpan<float> values)
    {
        var sum = 0.0;
        foreach (var v in values) sum += (double)v * v;
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// Scales <paramref name="values"/> in place so that its L2 norm is at most <paramref name="clipNorm"/>; returns the
    /// norm it had. Values that are not finite are left for the update check to refuse.
    /// </summary>
    public static double Clip(Span<float> values, double clipNorm)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(clipNorm);
        var norm = Norm(values);
        if (!double.IsFinite(norm) || norm <= clipNorm) return norm;
        TensorPrimitives.Multiply(values, (float)(clipNorm / norm), values);
        return norm;
    }

    /// <summary>Local DP: a member's update clipped to <paramref name="clipNorm"/> and noised with σ = noiseMultiplier × clipNorm before it leaves the member.</summary>
    public static ModelWeights Privatize(ModelWeights update, double clipNorm, double noiseMultiplier)
    {
        var values = update.Flatten();
        Clip(values, clipNorm);
        AddNoise(values, noiseMultiplier * clipNorm);
        return update.WithValues(values);
    }

    /// <summary>Adds independent N(0, <paramref name="std"/>²) noise to every value, drawn from the OS's CSPRNG.</summary>
    public static void AddNoise(Span<float> values, double std)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(std);
        if (std == 0) return;
        var bits = new byte[Batch * sizeof(ulong)];
        var noise = new float[Batch];
        for (var start = 0; start < values.Length; start += Batch)
        {
            var count = Math.Min(Batch, values.Length - start);
            Sample(bits, noise, count, std);
            TensorPrimitives.Add(values.Slice(start, count), noise.AsSpan(0, count), values.Slice(start, count));
        }
    }

    /// <summary>
    /// Box–Muller on uniform doubles built from 53 CSPRNG bits each (never 0, so the logarithm is finite), computed in
    /// float64 TorchSharp tensors; the first <paramref name="count"/> samples scaled by <paramref name="std"/> land in
    /// <paramref name="noise"/>.
    /// </summary>
    private static void Sample(byte[] bits, float[] noise, int count, double std)
    {
        var pairs = (count + 1) / 2;
        var span = bits.AsSpan(0, pairs * 2 * sizeof(ulong));
        RandomNumberGenerator.Fill(span);
        var u = new double[pairs * 2];
        for (var i = 0; i < u.Length; i++)
            u[i] = ((BinaryPrimitives.ReadUInt64LittleEndian(span[(i * 8)..]) >> 11) + 1) * (1.0 / (1UL << 53));
        using var scope = torch.NewDisposeScope();
        var uniform = torch.tensor(u, torch.float64).reshape(2, pairs);
        var radius = (-2.0 * uniform[0].log()).sqrt();
        var angle = 2 * Math.PI * uniform[1];
        var z = torch.cat([radius * angle.cos(), radius * angle.sin()]) * std;
        Array.Copy(z.to_type(torch.float32).data<float>().ToArray(), noise, count);
    }
}
