using System.Collections.Concurrent;
using System.Text.Json;
using Regatta.Grains.Models;
using Regatta.Learning.Models.Hf;

namespace Regatta.Grains.Network;

/// <summary>The tokenizers of served models, read from their blob once per silo and kept by content hash.</summary>
public sealed class ServedTokenizers(IBlobStore blobs)
{
    private readonly ConcurrentDictionary<string, Lazy<Task<HfTokenizer>>> _byHash = new(StringComparer.Ordinal);

    public Task<HfTokenizer> Get(string hash) => _byHash.GetOrAdd(hash, h => new Lazy<Task<HfTokenizer>>(() => Load(h))).Value;

    private async Task<HfTokenizer> Load(string hash)
    {
        var files = JsonSerializer.Deserialize<Dictionary<string, byte[]>>(await blobs.ReadAllAsync(hash))
            ?? throw new RegattaException("bad_tokenizer", $"tokenizer blob {hash} is empty");
        return HfTokenizer.Create(files);
    }
}
