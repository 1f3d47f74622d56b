using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Regatta.Learning.Models;

/// <summary>Fully connected classifier: <c>layers</c> hidden ReLU layers of width <c>hidden</c>, then logits.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Linear> hidden = new();
    private readonly Linear output;

    public Mlp(MlpArchitecture architecture) : base("mlp")
    {
        var width = architecture.Inputs;
        for (var i = 0; i < architecture.Layers; i++)
        {
            hidden.Add(nn.Linear(width, architecture.Hidden));
            width = architecture.Hidden;
        }
        output = nn.Linear(width, architecture.Classes);
        RegisterComponents();
    }

    /// <summary>[batch, inputs] → [batch, classes].</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input;
        foreach (var layer in hidden)
            x = nn.functional.relu(layer.forward(x));
        return output.forward(x).MoveToOuterDisposeScope();
    }
}
