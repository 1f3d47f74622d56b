using Regatta.Grains.Models;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Regatta.Learning.Models;
using Regatta.Learning.Models.Hf;
using Regatta.Learning.Weights;
using Regatta.Network;
using Regatta.Runs;
using TorchSharp;

namespace Regatta.Grains.Network;

/// <summary>Turns transformer weights into a <see cref="ServedModel"/>: split into parts, each stored as a content-addressed blob.</summary>
public sealed class ServedModels(IBlobStore blobs)
{
    public Task<ServedModel> FromSeed(ModelSpec spec, long seed)
    {
        ModelWeights weights;
        using (torch.NewDisposeScope())
            weights = WeightsIO.Read(ModelCatalog.Create(spec, seed));
        return Publish(spec, weights, $"seed:{seed}");
    }

    public async Task<ServedModel> Publish(ModelSpec spec, ModelWeights weights, string source)
    {
        if (ModelCatalog.Describe(spec) is not TransformerArchitecture architecture)
            throw new RegattaException("not_a_transformer", $"model '{spec.Name}' cannot be served in blocks: only a transformer can");
        var parts = TransformerParts.Split(weights, architecture.Blocks);
        var hashes = new List<string>(parts.Count);
        foreach (var part in parts) hashes.Add(await blobs.PutAsync(part.ToBytes()));
        return new ServedModel
        {
            Version = ModelWeights.Hash(weights.ToBytes()),
            Spec = spec,
            Blocks = architecture.Blocks,
            Vocab = architecture.Vocab,
            Context = architecture.Context,
            PartHashes = hashes,
            ParametersPerBlock = parts[TransformerParts.Block(0)].ParameterCount,
            Source = source,
            Width = architecture.Width,
        };
    }

    /// <summary>
    /// Publishes a Hugging Face model folder: each part (embedding, every block, norm and head) as a safetensors blob
    /// in the checkpoint's dtype, read one at a time, and the tokenizer files as one blob. The version is the hash of
    /// the config and the parts' hashes, so the same folder published twice is the same version.
    /// </summary>
    public async Task<ServedModel> FromFolder(string path)
    {
        HfCheckpoint checkpoint;
        try
        {
            checkpoint = HfCheckpoint.Open(path);
        }
        catch (Exception e) when (e is ArgumentException or IOException or JsonException or UnauthorizedAccessException)
        {
            throw new RegattaException("bad_model_folder", $"folder: {e.Message}");
        }
        var config = checkpoint.Config;
        var hashes = new List<string>(config.Blocks + 2);
        for (var part = 0; part < config.Blocks + 2; part++)
        {
            byte[] bytes;
            try
            {
                bytes = await Task.Run(() => checkpoint.PartBytes(part));
            }
            catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException)
            {
                throw new RegattaException("bad_model_folder", $"folder: part {part}: {e.Message}");
            }
            hashes.Add(await blobs.PutAsync(bytes));
        }
        var tokenizerFiles = checkpoint.TokenizerFiles();
        string? tokenizerHash = null;
        var eos = new List<int>(config.EosTokenIds);
        if (tokenizerFiles.Count > 0)
        {
            try
            {
                eos.AddRange(HfTokenizer.Create(tokenizerFiles).EosIds.Except(eos)); // refuse a tokenizer that cannot be read now, not at the first request
            }
            catch (Exception e) when (e is ArgumentException or JsonException or InvalidOperationException or FormatException)
            {
                throw new RegattaException("bad_model_folder", $"folder: tokenizer: {e.Message}");
            }
            tokenizerHash = await blobs.PutAsync(JsonSerializer.SerializeToUtf8Bytes(tokenizerFiles));
        }
        var version = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(checkpoint.ConfigJson + "\n" + string.Join("\n", hashes) + "\n" + tokenizerHash)));
        var dtype = HfConfig.DTypeName(config.DType);
        return new ServedModel
        {
            Version = version,
            Spec = new ModelSpec { Name = $"hf:{config.ModelType}" },
            Blocks = config.Blocks,
            Vocab = config.Vocab,
            Context = config.Context,
            Width = config.Width,
            PartHashes = hashes,
            ParametersPerBlock = config.ParametersPerBlock,
            Source = $"folder:{Path.GetFullPath(path)}",
            HfConfig = checkpoint.ConfigJson,
            TokenizerHash = tokenizerHash,
            DType = dtype,
            Sessions = true,
            CacheBytesPerTokenPerBlock = config.CacheValuesPerToken * (dtype == "float32" ? 4 : 2),
            EosTokens = eos,
        };
    }
}
