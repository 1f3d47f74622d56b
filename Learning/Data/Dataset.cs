using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Learning.Data;

public enum DatasetKind
{
    /// <summary>Features [n, ...] float32, labels [n] int64 class ids.</summary>
    Classification,
    /// <summary>Features [n, context] int64 token ids, labels [n, context] int64 next tokens.</summary>
    LanguageModel,
}

/// <summary>
/// Examples as two CPU tensors that this object owns (they are detached from any dispose scope
/// and freed by <see cref="Dispose"/>).
/// </summary>
public sealed class Dataset : IDisposable
{
    public Dataset(Tensor features, Tensor labels, DatasetKind kind, int classes)
    {
        if (features.shape[0] != labels.shape[0])
            throw new ArgumentException($"{features.shape[0]} feature rows but {labels.shape[0]} labels");
        Features = features.DetachFromDisposeScope();
        Labels = labels.DetachFromDisposeScope();
        Kind = kind;
        Classes = classes;
    }

    public Tensor Features { get; }
    public Tensor Labels { get; }
    public DatasetKind Kind { get; }

    /// <summary>Number of classes, or the vocabulary size of a language-model dataset.</summary>
    public int Classes { get; }

    public long Count => Labels.shape[0];

    /// <summary>One example's shape (without the leading count).</summary>
    public long[] ExampleShape => Features.shape[1..];

    /// <summary>
    /// What non-IID partitioning groups examples by: the label for classification, the first token of the
    /// window for a language model (so partitions differ in which contexts they see).
    /// </summary>
    public long[] Strata()
    {
        using var scope = NewDisposeScope();
        var strata = Kind == DatasetKind.Classification ? Labels : Features.select(1, 0);
        return strata.to(int64).data<long>().ToArray();
    }

    /// <summary>The examples at <paramref name="indices"/>, in that order, as a new dataset.</summary>
    public Dataset Select(long[] indices)
    {
        using var scope = NewDisposeScope();
        var at = tensor(indices, int64);
        return new Dataset(Features.index_select(0, at), Labels.index_select(0, at), Kind, Classes);
    }

    /// <summary>The examples of <paramref name="parts"/> one after another, as a new dataset (all of one kind and shape).</summary>
    public static Dataset Concat(IReadOnlyList<Dataset> parts)
    {
        ArgumentOutOfRangeException.ThrowIfZero(parts.Count);
        using var scope = NewDisposeScope();
        return new Dataset(cat(parts.Select(p => p.Features).ToList(), 0), cat(parts.Select(p => p.Labels).ToList(), 0), parts[0].Kind,
            parts.Max(p => p.Classes));
    }

    public void Dispose()
    {
        Features.Dispose();
        Labels.Dispose();
    }
}
