using System.Text.Json;
using static TorchSharp.torch;

namespace Regatta.Learning.Models.Hf;

/// <summary>The architectures a Hugging Face folder may hold; Llama stands for the Llama family (Mistral, Qwen2: RoPE, RMSNorm, SwiGLU, grouped-query attention).</summary>
public enum HfFamily { Gpt2, Llama }

/// <summary>
/// The parts of a Hugging Face <c>config.json</c> Regatta serves by. Read once at the silo; travels to agents as the JSON
/// it was read from so both sides build the same modules.
/// </summary>
public sealed record HfConfig(
    HfFamily Family,
    string ModelType,
    int Vocab,
    int Width,
    int Heads,
    int KvHeads,
    int HeadWidth,
    int Blocks,
    int Intermediate,
    int Context,
    double NormEps,
    double RopeTheta,
    bool AttentionBias,
    bool TieEmbeddings,
    ScalarType DType,
    int? BosTokenId,
    IReadOnlyList<int> EosTokenIds)
{
    public const int MaxBlocks = 1024;
    public const int MaxWidth = 1 << 16;
    public const int MaxVocab = 1 << 20;

    /// <summary>Parameters of one block (all blocks are alike).</summary>
    public long ParametersPerBlock => Family switch
    {
        HfFamily.Gpt2 => 2 * 2L * Width + (Width * 3L * Width + 3L * Width) + ((long)Width * Width + Width)
                         + ((long)Width * Intermediate + Intermediate) + ((long)Intermediate * Width + Width),
        _ => 2L * Width + (long)Width * Heads * HeadWidth + 2L * Width * KvHeads * HeadWidth + (long)Heads * HeadWidth * Width
             + (AttentionBias ? (long)Heads * HeadWidth + 2L * KvHeads * HeadWidth : 0) + 3L * Width * Intermediate,
    };

    /// <summary>Key and value values one block caches per token of a session.</summary>
    public long CacheValuesPerToken => 2L * KvHeads * HeadWidth;

    public static string DTypeName(ScalarType t) => t switch
    {
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        _ => "float32",
    };

    /// <summary>Reads config.json; throws <see cref="ArgumentException"/> naming the field that is missing or out of range.</summary>
    public static HfConfig Parse(string json)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new ArgumentException("config.json: must be a JSON object");
        var type = Text(root, "model_type") ?? throw new ArgumentException("config.json: model_type is required");
        var family = type switch
        {
            "gpt2" => HfFamily.Gpt2,
            "llama" or "mistral" or "qwen2" => HfFamily.Llama,
            _ => throw new ArgumentException($"config.json: model_type '{type}' is not served (known: gpt2, llama, mistral, qwen2)"),
        };
        if (root.TryGetProperty("rope_scaling", out var scaling) && scaling.ValueKind != JsonValueKind.Null)
            throw new ArgumentException("config.json: rope_scaling is not supported (only plain RoPE)");
        var dtype = (Text(root, "torch_dtype") ?? "float32") switch
        {
            "float16" => ScalarType.Float16,
            "bfloat16" => ScalarType.BFloat16,
            "float32" => ScalarType.Float32,
            var other => throw new ArgumentException($"config.json: torch_dtype '{other}' is not served (float32, float16, bfloat16)"),
        };
        int vocab, width, heads, kvHeads, blocks, intermediate, context;
        double eps;
        if (family == HfFamily.Gpt2)
        {
            vocab = Int(root, "vocab_size", 2, MaxVocab);
            width = Int(root, "n_embd", 1, MaxWidth);
            heads = Int(root, "n_head", 1, 1024);
            kvHeads = heads;
            blocks = Int(root, "n_layer", 1, MaxBlocks);
            intermediate = root.TryGetProperty("n_inner", out var inner) && inner.ValueKind == JsonValueKind.Number ? Int(root, "n_inner", 1, 1 << 20) : 4 * width;
            context = Int(root, "n_positions", 1, 1 << 20);
            eps = Number(root, "layer_norm_epsilon", 1e-5);
            var activation = Text(root, "activation_function") ?? "gelu_new";
            if (activation is not ("gelu_new" or "gelu_pytorch_tanh"))
                throw new ArgumentException($"config.json: activation_function '{activation}' is not served (gelu_new)");
        }
        else
        {
            vocab = Int(root, "vocab_size", 2, MaxVocab);
            width = Int(root, "hidden_size", 1, MaxWidth);
            heads = Int(root, "num_attention_heads", 1, 1024);
            kvHeads = root.TryGetProperty("num_key_value_heads", out var kv) && kv.ValueKind == JsonValueKind.Number ? Int(root, "num_key_value_heads", 1, heads) : heads;
            blocks = Int(root, "num_hidden_layers", 1, MaxBlocks);
            intermediate = Int(root, "intermediate_size", 1, 1 << 20);
            context = Int(root, "max_position_embeddings", 1, 1 << 20);
            eps = Number(root, "rms_norm_eps", 1e-6);
            var activation = Text(root, "hidden_act") ?? "silu";
            if (activation != "silu") throw new ArgumentException($"config.json: hidden_act '{activation}' is not served (silu)");
        }
        if (heads % kvHeads != 0) throw new ArgumentException($"config.json: {heads} attention heads are not a multiple of {kvHeads} key/value heads");
        var headWidth = root.TryGetProperty("head_dim", out var hd) && hd.ValueKind == JsonValueKind.Number ? Int(root, "head_dim", 2, 4096) : width / heads;
        if (family == HfFamily.Gpt2 && width % heads != 0) throw new ArgumentException($"config.json: n_embd {width} is not divisible by n_head {heads}");
        if (headWidth % 2 != 0) throw new ArgumentException($"config.json: the head width {headWidth} must be even");
        return new HfConfig(family, type, vocab, width, heads, kvHeads, headWidth, blocks, intermediate, context, eps,
            Number(root, "rope_theta", 10000),
            family == HfFamily.Llama && (type == "qwen2" || (root.TryGetProperty("attention_bias", out var bias) && bias.ValueKind == JsonValueKind.True)),
            // GPT-2 always reads its head from the token embedding; the Llama family does when the config says so.
            family == HfFamily.Gpt2 || (root.TryGetProperty("tie_word_embeddings", out var tie) && tie.ValueKind == JsonValueKind.True),
            dtype,
            root.TryGetProperty("bos_token_id", out var bos) && bos.ValueKind == JsonValueKind.Number ? bos.GetInt32() : null,
            EosIds(root));
    }

    private static List<int> EosIds(JsonElement root)
    {
        if (!root.TryGetProperty("eos_token_id", out var eos)) return [];
        return eos.ValueKind switch
        {
            JsonValueKind.Number => [eos.GetInt32()],
            JsonValueKind.Array => [.. eos.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Number).Select(e => e.GetInt32())],
            _ => [],
        };
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int Int(JsonElement root, string name, int min, int max)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var value))
            throw new ArgumentException($"config.json: {name} is required (a whole number)");
        if (value < min || value > max) throw new ArgumentException($"config.json: {name} must be in [{min}, {max}], got {value}");
        return value;
    }

    private static double Number(JsonElement root, string name, double fallback)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !double.IsFinite(v.GetDouble()) || v.GetDouble() <= 0)
            throw new ArgumentException($"config.json: {name} must be a positive number");
        return v.GetDouble();
    }
}
