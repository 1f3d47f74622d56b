namespace Regatta.Learning.Models.Hf;

/// <summary>
/// Where each tensor of a Hugging Face checkpoint goes when the model is split like a Regatta transformer: part 0 the
/// embeddings, parts 1..B the blocks, part B+1 the final norm and head. Names are made canonical (GPT-2's optional
/// "transformer." prefix dropped) and the attention-mask buffers old GPT-2 files carry are left out.
/// </summary>
public static class HfParts
{
    public const int Skip = -1;

    public static string Canonical(string name, HfFamily family) =>
        family == HfFamily.Gpt2 && name.StartsWith("transformer.", StringComparison.Ordinal) ? name["transformer.".Length..] : name;

    /// <summary>The part a canonical tensor name belongs to, <see cref="Skip"/> for buffers; throws for a name the family does not have.</summary>
    public static int PartOf(string name, HfConfig c)
    {
        var (embedding, blockPrefix, head) = Names(c.Family);
        if (embedding.Contains(name)) return TransformerParts.Embedding;
        if (head.Contains(name)) return TransformerParts.Head(c.Blocks);
        if (name.StartsWith(blockPrefix, StringComparison.Ordinal))
        {
            var dot = name.IndexOf('.', blockPrefix.Length);
            if (dot > blockPrefix.Length && int.TryParse(name.AsSpan(blockPrefix.Length, dot - blockPrefix.Length), out var index) && index >= 0 && index < c.Blocks)
            {
                var rest = name[(dot + 1)..];
                return rest is "attn.bias" or "attn.masked_bias" || rest.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal) ? Skip : TransformerParts.Block(index);
            }
        }
        throw new ArgumentException($"tensor '{name}' is not part of a {c.Blocks}-block {c.ModelType} model");
    }

    /// <summary>The prefix of block <paramref name="index"/>'s tensors.</summary>
    public static string BlockPrefix(HfFamily family, int index) => $"{Names(family).BlockPrefix}{index}.";

    public static string TokenEmbedding(HfFamily family) => Names(family).Embedding[0];
    public static string PositionEmbedding => "wpe.weight";
    public static string NormPrefix(HfFamily family) => family == HfFamily.Gpt2 ? "ln_f." : "model.norm.";
    public const string HeadWeight = "lm_head.weight";

    private static (string[] Embedding, string BlockPrefix, string[] Head) Names(HfFamily family) => family == HfFamily.Gpt2
        ? (["wte.weight", "wpe.weight"], "h.", ["ln_f.weight", "ln_f.bias", HeadWeight])
        : (["model.embed_tokens.weight"], "model.layers.", ["model.norm.weight", HeadWeight]);
}
