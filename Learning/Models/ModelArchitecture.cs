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

    /// <summary>Builds the module with TorchSharp's default initialisation; <see cref="ModelCatalog.Create"/> re-initialises it from a seed.</summary>
    internal abstract nn.Module<Tensor, Tensor> Build();
}

public sealed record MlpArchitecture(int Inputs, int Hidden, int Classes, int Layers) : ModelArchitecture
{
    public override ModelInput Input => new(DatasetKind.Classification, [Inputs], Classes);
    internal override nn.Module<Tensor, Tensor> Build() => new Mlp(this);
}

public sealed record CnnArchitecture(int Channels, int Size, int Classes, int Filters) : ModelArchitecture
{
    public override ModelInput Input => new(DatasetKind.Classification, [Channels, Size, Size], Classes);
    internal override nn.Module<Tensor, Tensor> Build() => new Cnn(this);
}

public sealed record TransformerArchitecture(int Vocab, int Width, int Heads, int Blocks, int Context) : ModelArchitecture
{
    public override ModelInput Input => new(DatasetKind.LanguageModel, [Context], Vocab);
    internal override nn.Module<Tensor, Tensor> Build() => new TransformerLM(this);
}
