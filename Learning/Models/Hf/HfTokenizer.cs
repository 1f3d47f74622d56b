using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Regatta.Learning.Models.Hf;

/// <summary>
/// Text ↔ token ids for a served Hugging Face model, from its tokenizer files: a byte-level BPE <c>tokenizer.json</c>
/// (GPT-2, Llama 3, Qwen), a SentencePiece <c>tokenizer.json</c> or <c>tokenizer.model</c> (Llama 2, Mistral).
/// Special tokens (<c>added_tokens</c>) are matched in the text as themselves and left out of decoded text.
/// Chat prompts follow the model's chat template when it is one of the known families (Llama 3 headers, ChatML,
/// Llama 2 [INST]); the template is recognised, not interpreted as Jinja.
/// </summary>
public sealed class HfTokenizer
{
    private readonly Tokenizer _inner;
    private readonly Dictionary<string, int> _specials;
    private readonly Dictionary<int, string> _specialIds;
    private readonly string? _template;

    private HfTokenizer(Tokenizer inner, Dictionary<string, int> specials, string? bos, string? eos, string? template)
    {
        (_inner, _specials, _template) = (inner, specials, template);
        _specialIds = specials.ToDictionary(s => s.Value, s => s.Key);
        Bos = bos;
        EosIds = eos is not null && specials.TryGetValue(eos, out var id) ? [id] : [];
    }

    public string? Bos { get; }
    /// <summary>The end-of-sequence token named by tokenizer_config.json, when it is a special token.</summary>
    public IReadOnlyList<int> EosIds { get; }
    public bool HasChatTemplate => ChatFamily() is not null;

    /// <summary>Files by name (<see cref="HfCheckpoint.TokenizerFileNames"/>); throws <see cref="ArgumentException"/> when none can be used.</summary>
    public static HfTokenizer Create(IReadOnlyDictionary<string, byte[]> files)
    {
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        string? bos = null, eos = null, template = null;
        if (files.TryGetValue("tokenizer_config.json", out var configBytes))
        {
            using var config = JsonDocument.Parse(configBytes);
            bos = TokenText(config.RootElement, "bos_token");
            eos = TokenText(config.RootElement, "eos_token");
            if (config.RootElement.TryGetProperty("chat_template", out var t) && t.ValueKind == JsonValueKind.String) template = t.GetString();
        }
        Tokenizer inner;
        if (files.TryGetValue("tokenizer.json", out var json))
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
                foreach (var token in added.EnumerateArray())
                    if (token.TryGetProperty("content", out var content) && token.TryGetProperty("id", out var id))
                        specials[content.GetString()!] = id.GetInt32();
            if (!root.TryGetProperty("model", out var model)) throw new ArgumentException("tokenizer.json: model is required");
            var type = model.TryGetProperty("type", out var ty) ? ty.GetString() : null;
            var byteLevel = json.AsSpan().IndexOf("\"ByteLevel\""u8) >= 0;
            if (type == "BPE" && byteLevel) inner = ByteLevelBpe(model, specials.Values.DefaultIfEmpty(0).Max());
            else if (type is "BPE" or "Unigram") inner = SentencePieceTokenizer.CreateFromTokenizerJson(new MemoryStream(json), addBeginningOfSentence: false, addEndOfSentence: false);
            else throw new ArgumentException($"tokenizer.json: model type '{type}' is not supported (BPE, Unigram)");
        }
        else if (files.TryGetValue("tokenizer.model", out var sentencePiece))
            inner = LlamaTokenizer.Create(new MemoryStream(sentencePiece), addBeginOfSentence: false, addEndOfSentence: false);
        else throw new ArgumentException("the model has no tokenizer.json or tokenizer.model");
        return new HfTokenizer(inner, specials, bos, eos, template);
    }

    /// <summary>Text → ids; special tokens written in the text become their ids.</summary>
    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        var plain = 0;
        for (var i = 0; i < text.Length;)
        {
            var special = _specials.Keys.Where(s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0).MaxBy(s => s.Length);
            if (special is null)
            {
                i++;
                continue;
            }
            if (i > plain) ids.AddRange(_inner.EncodeToIds(text[plain..i]));
            ids.Add(_specials[special]);
            i += special.Length;
            plain = i;
        }
        if (plain < text.Length) ids.AddRange(_inner.EncodeToIds(text[plain..]));
        return ids;
    }

    /// <summary>Ids → text, special tokens left out.</summary>
    public string Decode(IEnumerable<int> ids) => _inner.Decode(ids.Where(id => !_specialIds.ContainsKey(id))) ?? "";

    /// <summary>The prompt for a chat in the model's template, ending where the assistant's reply begins.</summary>
    public string ChatPrompt(IReadOnlyList<(string Role, string Content)> messages)
    {
        var family = ChatFamily() ?? throw new ArgumentException("the served model's tokenizer has no chat template Regatta knows (Llama 3, ChatML, Llama 2)");
        var text = new StringBuilder();
        if (_template!.Contains("bos_token", StringComparison.Ordinal) && Bos is not null) text.Append(Bos);
        foreach (var (role, content) in messages)
        {
            text.Append(family switch
            {
                "llama3" => $"<|start_header_id|>{role}<|end_header_id|>\n\n{content.Trim()}<|eot_id|>",
                "chatml" => $"<|im_start|>{role}\n{content}<|im_end|>\n",
                _ => role == "assistant" ? $" {content.Trim()} {EosText()}" : $"[INST] {content.Trim()} [/INST]",
            });
        }
        text.Append(family switch
        {
            "llama3" => "<|start_header_id|>assistant<|end_header_id|>\n\n",
            "chatml" => "<|im_start|>assistant\n",
            _ => "",
        });
        return text.ToString();
    }

    private string EosText() => EosIds.Count > 0 ? _specialIds[EosIds[0]] : "";

    private string? ChatFamily() => _template switch
    {
        null => null,
        var t when t.Contains("<|start_header_id|>", StringComparison.Ordinal) => "llama3",
        var t when t.Contains("<|im_start|>", StringComparison.Ordinal) => "chatml",
        var t when t.Contains("[INST]", StringComparison.Ordinal) => "llama2",
        _ => null,
    };

    private static Tokenizer ByteLevelBpe(JsonElement model, int unknownAbove)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new ArgumentException("tokenizer.json: model.vocab is required");
        var merges = new StringBuilder("#version: 0.2\n");
        if (model.TryGetProperty("merges", out var list) && list.ValueKind == JsonValueKind.Array)
            foreach (var merge in list.EnumerateArray())
                merges.Append(merge.ValueKind == JsonValueKind.Array ? $"{merge[0].GetString()} {merge[1].GetString()}" : merge.GetString()).Append('\n');
        // The library wants GPT-2's unknown token in the vocabulary; byte-level BPE never produces it, so a model
        // without it (Llama 3, Qwen) gets it under an id past every real one.
        var ids = JsonSerializer.Deserialize<Dictionary<string, int>>(vocab.GetRawText())!;
        ids.TryAdd("<|endoftext|>", Math.Max(ids.Values.DefaultIfEmpty(0).Max(), unknownAbove) + 1);
        return CodeGenTokenizer.Create(new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(ids)), new MemoryStream(Encoding.UTF8.GetBytes(merges.ToString())),
            addPrefixSpace: false, addBeginOfSentence: false, addEndOfSentence: false);
    }

    private static string? TokenText(JsonElement root, string name) => root.TryGetProperty(name, out var v)
        ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var c) => c.GetString(),
            _ => null,
        }
        : null;
}
