using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Regatta.Learning.Models.Hf;

/// <summary>
/// A Hugging Face model folder: config.json, the weights in one <c>model.safetensors</c> or in shards named by
/// <c>model.safetensors.index.json</c>, and the tokenizer files. Reads one part's tensors at a time, so splitting a
/// model into parts needs memory for the largest part, not the model.
/// </summary>
public sealed class HfCheckpoint
{
    public const long MaxHeaderBytes = 100L << 20;
    /// <summary>Tokenizer files carried with a served model (those present).</summary>
    public static IReadOnlyList<string> TokenizerFileNames { get; } = ["tokenizer.json", "tokenizer_config.json", "tokenizer.model"];
    public const long MaxTokenizerFileBytes = 64L << 20;

    private readonly Dictionary<string, (string File, string Stored)> _tensors;

    private HfCheckpoint(string folder, string configJson, HfConfig config, Dictionary<string, (string, string)> tensors)
    {
        (Folder, ConfigJson, Config, _tensors) = (folder, configJson, config, tensors);
    }

    public string Folder { get; }
    public string ConfigJson { get; }
    public HfConfig Config { get; }
    public IEnumerable<string> TensorNames => _tensors.Keys;

    /// <summary>Opens a folder; throws <see cref="ArgumentException"/> saying what is missing or wrong.</summary>
    public static HfCheckpoint Open(string folder)
    {
        if (!Directory.Exists(folder)) throw new ArgumentException($"folder '{folder}' does not exist");
        var configPath = Path.Combine(folder, "config.json");
        if (!File.Exists(configPath)) throw new ArgumentException($"folder '{folder}' has no config.json");
        if (new FileInfo(configPath).Length > 1 << 20) throw new ArgumentException("config.json: larger than 1 MiB");
        var configJson = File.ReadAllText(configPath);
        var config = HfConfig.Parse(configJson);

        var files = new List<string>();
        var index = Path.Combine(folder, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(index));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new ArgumentException("model.safetensors.index.json: weight_map is required");
            foreach (var entry in map.EnumerateObject())
            {
                var file = entry.Value.GetString() ?? "";
                if (file != Path.GetFileName(file) || !file.EndsWith(".safetensors", StringComparison.Ordinal))
                    throw new ArgumentException($"model.safetensors.index.json: '{file}' is not a .safetensors file of the folder");
                if (!files.Contains(file)) files.Add(file);
            }
        }
        else if (File.Exists(Path.Combine(folder, "model.safetensors"))) files.Add("model.safetensors");
        else throw new ArgumentException($"folder '{folder}' has neither model.safetensors nor model.safetensors.index.json");

        var tensors = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var path = Path.Combine(folder, file);
            if (!File.Exists(path)) throw new ArgumentException($"weights file '{file}' is missing");
            foreach (var stored in HeaderNames(path))
            {
                var name = HfParts.Canonical(stored, config.Family);
                if (HfParts.PartOf(name, config) == HfParts.Skip) continue;
                if (!tensors.TryAdd(name, (path, stored))) throw new ArgumentException($"tensor '{name}' appears twice");
            }
        }
        var checkpoint = new HfCheckpoint(folder, configJson, config, tensors);
        for (var part = 0; part < config.Blocks + 2; part++)
            if (!checkpoint.NamesOf(part).Any()) throw new ArgumentException($"the weights have no tensors for part {part} of a {config.Blocks}-block model");
        return checkpoint;
    }

    /// <summary>The tensors of one part as a safetensors file (canonical names, the checkpoint's dtype). The head part of a model with tied embeddings carries the token embedding as its head weight.</summary>
    public byte[] PartBytes(int part)
    {
        var names = NamesOf(part).ToList();
        var head = part == TransformerParts.Head(Config.Blocks);
        var tiedHead = head && !_tensors.ContainsKey(HfParts.HeadWeight);
        if (tiedHead)
        {
            if (!Config.TieEmbeddings) throw new ArgumentException($"the weights lack '{HfParts.HeadWeight}' and the config does not tie it to the embedding");
            names.Add(HfParts.TokenEmbedding(Config.Family));
        }
        using var scope = NewDisposeScope();
        var loaded = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var file in names.GroupBy(n => _tensors[n].File))
        {
            var stored = file.Select(n => _tensors[n].Stored).ToList();
            var read = Safetensors.LoadStateDict(file.Key, stored);
            foreach (var n in file) loaded[tiedHead && n == HfParts.TokenEmbedding(Config.Family) ? HfParts.HeadWeight : n] = read[_tensors[n].Stored];
        }
        using var stream = new MemoryStream();
        Safetensors.SaveStateDict(stream, loaded.OrderBy(t => t.Key, StringComparer.Ordinal).ToDictionary(t => t.Key, t => t.Value));
        return stream.ToArray();
    }

    /// <summary>The tokenizer files the folder has, by name.</summary>
    public Dictionary<string, byte[]> TokenizerFiles()
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in TokenizerFileNames)
        {
            var path = Path.Combine(Folder, name);
            if (!File.Exists(path)) continue;
            if (new FileInfo(path).Length > MaxTokenizerFileBytes) throw new ArgumentException($"{name}: larger than {MaxTokenizerFileBytes >> 20} MiB");
            files[name] = File.ReadAllBytes(path);
        }
        return files;
    }

    private IEnumerable<string> NamesOf(int part) => _tensors.Keys.Where(n => HfParts.PartOf(n, Config) == part).Order(StringComparer.Ordinal);

    /// <summary>Tensor names in a safetensors file's header (8-byte little-endian length, then JSON).</summary>
    public static List<string> HeaderNames(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var length = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (length == 0 || length > (ulong)MaxHeaderBytes || (long)length > stream.Length - 8)
            throw new ArgumentException($"{Path.GetFileName(path)}: not a safetensors file (header of {length} bytes)");
        var header = new byte[length];
        stream.ReadExactly(header);
        using var document = JsonDocument.Parse(header);
        if (document.RootElement.ValueKind != JsonValueKind.Object) throw new ArgumentException($"{Path.GetFileName(path)}: header is not a JSON object");
        return [.. document.RootElement.EnumerateObject().Select(p => p.Name).Where(n => n != "__metadata__")];
    }
}
