using Regatta.Learning.Weights;

namespace Regatta.Learning.Models;

/// <summary>
/// Splits a <see cref="TransformerLM"/>'s weights into the parts a pipeline stage needs: part 0 the embeddings,
/// parts 1..B the blocks, part B+1 the final norm and head. Tensor names stay those of the whole model.
/// </summary>
public static class TransformerParts
{
    public static int Embedding => 0;
    public static int Block(int index) => 1 + index;
    public static int Head(int blocks) => blocks + 1;

    /// <summary>The parts a worker serving blocks [start, end) of a model with <paramref name="blocks"/> blocks needs.</summary>
    public static IEnumerable<int> Needed(int start, int end, int blocks)
    {
        if (start == 0) yield return Embedding;
        for (var b = start; b < end; b++) yield return Block(b);
        if (end == blocks) yield return Head(blocks);
    }

    public static List<ModelWeights> Split(ModelWeights whole, int blocks)
    {
        var parts = Enumerable.Range(0, blocks + 2).Select(_ => new List<NamedTensor>()).ToList();
        foreach (var t in whole.Tensors) parts[PartOf(t.Name, blocks)].Add(t);
        var empty = parts.FindIndex(p => p.Count == 0);
        if (empty >= 0) throw new ArgumentException($"weights have no tensors for part {empty} of a {blocks}-block transformer", nameof(whole));
        return [.. parts.Select(p => new ModelWeights(p))];
    }

    /// <summary>Which part a tensor of the whole model belongs to, by its name.</summary>
    public static int PartOf(string name, int blocks)
    {
        if (name.StartsWith("tokens.", StringComparison.Ordinal) || name.StartsWith("positions.", StringComparison.Ordinal)) return Embedding;
        if (name.StartsWith("norm.", StringComparison.Ordinal) || name.StartsWith("head.", StringComparison.Ordinal)) return Head(blocks);
        if (name.StartsWith("blocks.", StringComparison.Ordinal))
        {
            var dot = name.IndexOf('.', 7);
            if (dot > 7 && int.TryParse(name.AsSpan(7, dot - 7), out var index) && index >= 0 && index < blocks) return Block(index);
        }
        throw new ArgumentException($"tensor '{name}' is not part of a {blocks}-block transformer");
    }
}
