using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Regatta.Learning.Models;

/// <summary>Two conv(3x3)+ReLU+maxpool(2) stages (filters, 2×filters) and a linear classifier.</summary>
public sealed class Cnn : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly Conv2d conv2;
    private readonly Linear classifier;

    public Cnn(CnnArchitecture architecture) : base("cnn")
    {
        var (channels, filters) = (architecture.Channels, architecture.Filters);
        conv1 = nn.Conv2d(channels, filters, kernel_size: 3, padding: 1);
        conv2 = nn.Conv2d(filters, 2 * filters, kernel_size: 3, padding: 1);
        var side = architecture.Size / 4;
        classifier = nn.Linear(2L * filters * side * side, architecture.Classes);
        RegisterComponents();
    }

    /// <summary>[batch, channels, size, size] → [batch, classes].</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.max_pool2d(nn.functional.relu(conv1.forward(input)), 2);
        x = nn.functional.max_pool2d(nn.functional.relu(conv2.forward(x)), 2);
        return classifier.forward(x.flatten(1)).MoveToOuterDisposeScope();
    }
}
