using System.Numerics.Tensors;

namespace Regatta.Learning.Weights;

/// <summary>Model updates as weight differences, computed with SIMD over the flat tensors.</summary>
public static class UpdateMath
{
    /// <summary>local − global, tensor by tensor, in the same layout.</summary>
    public static ModelWeights Delta(ModelWeights local, ModelWeights global) =>
        Combine(global, local, (g, l, result) => TensorPrimitives.Subtract(l, g, result));

    /// <summary>global + scale · delta.</summary>
    public static ModelWeights Apply(ModelWeights global, ModelWeights delta, float scale = 1f) =>
        Combine(global, delta, (g, d, result) => TensorPrimitives.MultiplyAdd(d, scale, g, result));

    /// <summary>L2 norm over all values (e.g. to refuse oversized updates).</summary>
    public static double Norm(ModelWeights weights) =>
        Math.Sqrt(weights.Tensors.Sum(t => (double)TensorPrimitives.Dot(t.Data, t.Data)));

    private delegate void Elementwise(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> result);

    private static ModelWeights Combine(ModelWeights a, ModelWeights b, Elementwise operation)
    {
        if (!a.SameLayoutAs(b, out var difference))
            throw new ArgumentException($"weights have different layouts: {difference}");
        var tensors = new List<NamedTensor>(a.Tensors.Count);
        for (var i = 0; i < a.Tensors.Count; i++)
        {
            var result = new float[a.Tensors[i].Data.Length];
            operation(a.Tensors[i].Data, b.Tensors[i].Data, result);
            tensors.Add(a.Tensors[i] with { Data = result });
        }
        return new ModelWeights(tensors);
    }
}
