using Regatta.Grains.Models;
using Regatta.Learning.Models;
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
        };
    }
}
