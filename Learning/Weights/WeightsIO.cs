using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Learning.Weights;

/// <summary>Moves weights between a TorchSharp module and <see cref="ModelWeights"/> (float32, CPU, registration order).</summary>
public static class WeightsIO
{
    public static ModelWeights Read(nn.Module module)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<NamedTensor>();
        foreach (var (name, parameter) in module.named_parameters())
        {
            var values = parameter.detach().to(float32).cpu().contiguous().data<float>().ToArray();
            tensors.Add(new NamedTensor(name, parameter.shape.Select(d => (int)d).ToArray(), values));
        }
        return new ModelWeights(tensors);
    }

    /// <summary>Copies <paramref name="weights"/> into the module's parameters (on whatever device they live).</summary>
    /// <exception cref="ArgumentException">The names, order or shapes do not match the module's.</exception>
    public static void Load(nn.Module module, ModelWeights weights)
    {
        var parameters = module.named_parameters().ToList();
        var layout = new ModelWeights(parameters
            .Select(p => new NamedTensor(p.name, p.parameter.shape.Select(d => (int)d).ToArray(), new float[p.parameter.numel()]))
            .ToList());
        if (!layout.SameLayoutAs(weights, out var difference))
            throw new ArgumentException($"weights do not fit this model: {difference}", nameof(weights));

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (var i = 0; i < parameters.Count; i++)
        {
            var (parameter, source) = (parameters[i].parameter, weights.Tensors[i]);
            parameter.copy_(tensor(source.Data, parameter.shape));
        }
    }
}
