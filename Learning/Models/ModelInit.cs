using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Regatta.Learning.Models;

/// <summary>
/// Seeded re-initialisation of every layer, in registration order, with PyTorch's default distributions.
/// Uses the Tensor.uniform_/normal_ methods: in TorchSharp 0.107 nn.init.uniform_/normal_ ignore their generator.
/// </summary>
internal static class ModelInit
{
    public static void Reset(nn.Module module, long seed)
    {
        using var generator = Seeds.Generator(seed, "model.init");
        using var noGrad = no_grad();
        foreach (var (_, layer) in module.named_modules())
        {
            switch (layer)
            {
                case Linear linear:
                    Uniform(linear.weight!, linear.bias, linear.weight!.shape[1], generator);
                    break;
                case Conv2d conv:
                    Uniform(conv.weight!, conv.bias, conv.weight!.shape[1] * conv.weight.shape[2] * conv.weight.shape[3], generator);
                    break;
                case Embedding embedding:
                    // GPT-style small embeddings keep the first residual stream well scaled.
                    embedding.weight!.normal_(0, 0.02, generator);
                    break;
                case LayerNorm norm:
                    nn.init.ones_(norm.weight!);
                    nn.init.zeros_(norm.bias!);
                    break;
            }
        }
    }

    // Kaiming-uniform with a = sqrt(5), as torch.nn.Linear/Conv2d do: bound 1/sqrt(fan_in) for weight and bias.
    private static void Uniform(Tensor weight, Tensor? bias, long fanIn, Generator generator)
    {
        var bound = 1.0 / Math.Sqrt(fanIn);
        weight.uniform_(-bound, bound, generator);
        bias?.uniform_(-bound, bound, generator);
    }
}
