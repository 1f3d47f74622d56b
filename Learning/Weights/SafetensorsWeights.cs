using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Regatta.Learning.Weights;

/// <summary>
/// <see cref="ModelWeights"/> as a safetensors file (float32, the tensors' own names), the format PyTorch, Hugging Face
/// and TorchSharp.PyBridge load a state dict from, so a checkpoint leaves Regatta in the form other tools read.
/// </summary>
public static class SafetensorsWeights
{
    public static void Write(ModelWeights weights, Stream destination)
    {
        using var scope = NewDisposeScope();
        var tensors = weights.Tensors.ToDictionary(t => t.Name, t => tensor(t.Data, t.Shape.Select(d => (long)d).ToArray()), StringComparer.Ordinal);
        Safetensors.SaveStateDict(destination, tensors);
    }

    public static byte[] ToBytes(ModelWeights weights)
    {
        using var stream = new MemoryStream();
        Write(weights, stream);
        return stream.ToArray();
    }

    /// <summary>The tensors of a safetensors file in the order of <paramref name="layout"/>, which must have the same names and shapes.</summary>
    /// <exception cref="ArgumentException">A tensor is missing, extra or of another shape.</exception>
    public static ModelWeights Read(Stream source, ModelWeights layout)
    {
        using var scope = NewDisposeScope();
        var read = Safetensors.LoadStateDict(source);
        var tensors = new List<NamedTensor>(layout.Tensors.Count);
        foreach (var t in layout.Tensors)
        {
            if (!read.Remove(t.Name, out var value)) throw new ArgumentException($"the file lacks tensor '{t.Name}'");
            var shape = value.shape.Select(d => (int)d).ToArray();
            if (!shape.SequenceEqual(t.Shape))
                throw new ArgumentException($"tensor '{t.Name}': shape [{string.Join(',', shape)}], expected [{string.Join(',', t.Shape)}]");
            tensors.Add(t with { Data = value.to(float32).contiguous().data<float>().ToArray() });
        }
        if (read.Count > 0) throw new ArgumentException($"the file has tensors this model lacks: {string.Join(", ", read.Keys.Take(5))}");
        return new ModelWeights(tensors);
    }
}
