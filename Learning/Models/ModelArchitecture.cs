using Regatta.Learning.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Learning.Models;

/// <summary>What a model consumes: the kind of task, one example's shape, and the number of classes (vocabulary for a language model).</summary>
public sealed record ModelInput(DatasetKind Kind, long[] ExampleShape, int Classes);

/// <summary>A validated model spec: the architecture's hyper-parameters, typed.</summary>
public abstract record ModelArchitecture
{
    public abstract ModelInput Input { get; }

    /// <summary>Trainable parameters of the built module, computed from the hyper-parameters (nothing is allocated).</summary>
    public abstract long ParameterCount { get; }

    /// <summary>Weights and biases of a Linear(inputs, outputs).</summary>
    private protected static long Linear(long inputs, long outputs) => inputs * outputs + outputs;

    /// <summary>Builds the module with TorchSharp's default initialisation; <see cref="ModelCatalog.Create"/> re-initialises it from a seed.</summary>
    internal abstract nn.Module<Tensor, Tensor> Build();
}

public sealed record MlpArchitecture(int Inputs, int Hidden, int Classes, int Layers) : ModelArchitecture
{
    public override ModelInput Input => new(DatasetKind.Classification, [Inputs], Classes);
    public override long ParameterCount =>
        (Layers == 0 ? 0 : Linear(Inputs, Hidden) + (Layers - 1L) * Linear(Hidden, Hidden)) + Linear(Layers == 0 ? Inputs : Hidden, Classes);
    internal override nn.Module<Tensor, Tensor> Build() => new Mlp(this);
}

public sealed record CnnArchitecture(int Channels, int Size, int Classes, int Filters) : ModelArchitecture
{
    public override ModelInput Input => new(DatasetKind.Classification, [Channels, Size, Size], Classes);
    public override long ParameterCount =>
        (9L * Channels * Filters + Filters) + (9L * Filters * 2 * Filters + 2L * Filters) + Linear(2L * Filters * (Size / 4) * (Size / 4), Classes);
    internal override nn.Module<Tensor, Tensor> Build() => new Cnn(this);
}

public sealed record TransformerArchitecture(int Vocab, int Width, int Heads, int Blocks, int Context) : ModelArchitecture
{
    public override ModelInput Input => new(DatasetKind.LanguageModel, [Context], Vocab);
    /// <summary>Embeddings, per block two LayerNorms, qkv, projection and the 4× MLP, the final LayerNorm and the head.</summary>
    public override long ParameterCount =>
        (long)Vocab * Width + (long)Context * Width
        + Blocks * (2 * 2L * Width + Linear(Width, 3L * Width) + Linear(Width, Width) + Linear(Width, 4L * Width) + Linear(4L * Width, Width))
        + 2L * Width + Linear(Width, Vocab);
    internal override nn.Module<Tensor, Tensor> Build() => new TransformerLM(this);
}
