using Regatta.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Learning.Models;

/// <summary>The models Regatta can train, built from a <see cref="ModelSpec"/>.</summary>
public static class ModelCatalog
{
    public static IReadOnlyList<string> Names { get; } = ["mlp", "cnn", "transformer"];

    /// <summary>Errors in the spec, each prefixed with its path (e.g. <c>model.parameters.hidden: must be &gt; 0</c>); empty when valid.</summary>
    public static List<string> Validate(ModelSpec spec)
    {
        var errors = new List<string>();
        Parse(spec, errors);
        return errors;
    }

    /// <summary>The typed architecture; throws <see cref="ArgumentException"/> naming the first bad parameter.</summary>
    public static ModelArchitecture Describe(ModelSpec spec)
    {
        var errors = new List<string>();
        var architecture = Parse(spec, errors);
        if (architecture is null || errors.Count > 0)
            throw new ArgumentException(string.Join("; ", errors), nameof(spec));
        return architecture;
    }

    /// <summary>
    /// A freshly initialised module on the CPU. Initialisation draws only from a generator seeded with
    /// <paramref name="seed"/>, so every process builds bit-identical weights (and the global RNG is irrelevant).
    /// </summary>
    public static nn.Module<Tensor, Tensor> Create(ModelSpec spec, long seed)
    {
        var module = Describe(spec).Build();
        ModelInit.Reset(module, seed);
        return module;
    }

    private static ModelArchitecture? Parse(ModelSpec spec, List<string> errors)
    {
        var reader = new ParameterReader(spec, errors);
        ModelArchitecture? architecture = spec.Name?.ToLowerInvariant() switch
        {
            "mlp" => ParseMlp(reader),
            "cnn" => ParseCnn(reader),
            "transformer" => ParseTransformer(reader),
            _ => null,
        };
        if (architecture is null)
        {
            errors.Add($"model.name: unknown model '{spec.Name}' (known: {string.Join(", ", Names)})");
            return null;
        }
        reader.RejectUnknown();
        return errors.Count == 0 ? architecture : null;
    }

    private static MlpArchitecture ParseMlp(ParameterReader p) => new(
        Inputs: p.Get("inputs", null, 1, 1 << 20),
        Hidden: p.Get("hidden", null, 1, 1 << 16),
        Classes: p.Get("classes", null, 2, 1 << 20),
        Layers: p.Get("layers", 1, 0, 64));

    private static CnnArchitecture ParseCnn(ParameterReader p)
    {
        var architecture = new CnnArchitecture(
            Channels: p.Get("channels", 1, 1, 16),
            Size: p.Get("size", 8, 4, 1024),
            Classes: p.Get("classes", null, 2, 1 << 20),
            Filters: p.Get("filters", 8, 1, 1024));
        // Two 2x2 poolings must leave a whole feature map.
        if (architecture.Size > 0 && architecture.Size % 4 != 0)
            p.Fail("size", $"must be a multiple of 4 (got {architecture.Size})");
        return architecture;
    }

    private static TransformerArchitecture ParseTransformer(ParameterReader p)
    {
        var architecture = new TransformerArchitecture(
            Vocab: p.Get("vocab", null, 2, 1 << 20),
            Width: p.Get("width", null, 1, 1 << 14),
            Heads: p.Get("heads", null, 1, 256),
            Blocks: p.Get("blocks", null, 1, 256),
            Context: p.Get("context", null, 1, 1 << 16));
        if (architecture.Heads > 0 && architecture.Width > 0 && architecture.Width % architecture.Heads != 0)
            p.Fail("width", $"must be divisible by heads ({architecture.Width} % {architecture.Heads} != 0)");
        return architecture;
    }
}
