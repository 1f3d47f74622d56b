using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Regatta.Learning.Models.Hf;

/// <summary>
/// A worker's share of a Hugging Face model: blocks [Start, End) built as <see cref="HfBlock"/>s and filled from the
/// parts it downloaded (safetensors bytes, see <see cref="HfCheckpoint.PartBytes"/>), plus the embedding at block 0
/// and the final norm and head at the last block. Weights stay in the dtype asked for (the checkpoint's by default).
/// </summary>
public sealed class HfShard : IBlockShard
{
    private readonly Tensor? _tokens;
    private readonly Tensor? _positions;
    private readonly List<HfBlock> _blocks = [];
    private readonly nn.Module<Tensor, Tensor>? _norm;
    private readonly Tensor? _head;
    private readonly Rope? _rope;

    public HfShard(HfConfig config, int start, int end, IEnumerable<byte[]> parts, Device? device = null, ScalarType? dtype = null)
    {
        if (start < 0 || end > config.Blocks || start >= end)
            throw new ArgumentOutOfRangeException(nameof(start), $"block range [{start},{end}) is not within [0,{config.Blocks})");
        (Config, Start, End, Device, DType) = (config, start, end, device ?? CPU, dtype ?? config.DType);
        var named = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var part in parts)
                foreach (var (name, t) in Safetensors.LoadStateDict(new MemoryStream(part)))
                    named[name] = t;
            if (start == 0)
            {
                _tokens = Take(named, HfParts.TokenEmbedding(config.Family), [config.Vocab, config.Width]);
                if (config.Family == HfFamily.Gpt2) _positions = Take(named, HfParts.PositionEmbedding, [config.Context, config.Width]);
            }
            if (config.Family == HfFamily.Llama) _rope = new Rope(config.HeadWidth, config.RopeTheta);
            for (var b = start; b < end; b++) _blocks.Add(Load(HfBlock.Create(config), HfParts.BlockPrefix(config.Family, b), named));
            if (end == config.Blocks)
            {
                _norm = Load<nn.Module<Tensor, Tensor>>(config.Family == HfFamily.Gpt2 ? nn.LayerNorm(config.Width, config.NormEps) : new RmsNorm(config.Width, config.NormEps),
                    HfParts.NormPrefix(config.Family), named);
                _head = Take(named, HfParts.HeadWeight, [config.Vocab, config.Width]);
            }
        }
        finally
        {
            foreach (var t in named.Values) t.Dispose();
        }
    }

    public HfConfig Config { get; }
    public int Start { get; }
    public int End { get; }
    public int Blocks => Config.Blocks;
    public Device Device { get; }
    public ScalarType DType { get; }

    public long ParameterCount => _blocks.Sum(b => b.parameters().Sum(p => p.numel())) + (_norm?.parameters().Sum(p => p.numel()) ?? 0)
        + (_tokens?.numel() ?? 0) + (_positions?.numel() ?? 0) + (_head?.numel() ?? 0);

    /// <summary>Bytes the shard's weights take.</summary>
    public long WeightBytes => _blocks.Sum(b => b.parameters().Sum(p => p.numel() * p.element_size())) + (_norm?.parameters().Sum(p => p.numel() * p.element_size()) ?? 0)
        + new[] { _tokens, _positions, _head }.Sum(t => t is null ? 0 : t.numel() * t.element_size());

    public long CacheBytesPerToken => (End - Start) * Config.CacheValuesPerToken * ElementSize(DType);

    public KvCache NewCache() => new(End - Start);

    public float[] Forward(int from, int to, int[]? tokens, float[]? hidden, int time, int position = 0, KvCache? cache = null)
    {
        if (from < Start || to > End || from >= to)
            throw new ArgumentOutOfRangeException(nameof(from), $"blocks [{from},{to}) are not within this shard's [{Start},{End})");
        if (time < 1 || position < 0 || position + time > Config.Context)
            throw new ArgumentOutOfRangeException(nameof(time), $"positions [{position}, {position + time}) are not within the context of {Config.Context}");
        if (cache is null && position != 0) throw new ArgumentException("without a session the whole sequence is needed (position 0)");
        if (cache is not null && position > cache.Length) throw new ArgumentException($"the session holds {cache.Length} positions, cannot continue at {position}");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor x;
        if (from == 0)
        {
            if (tokens is null || tokens.Length != time) throw new ArgumentException($"block 0 needs {time} token ids");
            if (tokens.Any(t => t < 0 || t >= Config.Vocab)) throw new ArgumentException($"token ids must be in [0, {Config.Vocab})");
            var ids = tensor(tokens.Select(t => (long)t).ToArray(), device: Device);
            x = _tokens!.index_select(0, ids);
            if (_positions is not null) x = x + _positions.narrow(0, position, time);
            x = x.unsqueeze(0);
        }
        else
        {
            if (hidden is null || hidden.Length != (long)time * Config.Width)
                throw new ArgumentException($"block {from} needs hidden states of {time}×{Config.Width} values");
            if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(hidden)) throw new ArgumentException("hidden states hold a non-finite value");
            x = tensor(hidden, [1, time, Config.Width], device: Device).to(DType);
        }
        var rope = _rope?.At(position, time, DType, Device);
        for (var b = from; b < to; b++) x = _blocks[b - Start].Forward(x, position, cache?[b - Start], rope);
        if (to == Config.Blocks)
        {
            var logits = nn.functional.linear(_norm!.forward(x.select(1, -1)), _head!);
            return logits.to(float32).cpu().contiguous().data<float>().ToArray();
        }
        return x.to(float32).cpu().contiguous().data<float>().ToArray();
    }

    private Tensor Take(Dictionary<string, Tensor> named, string name, long[] shape)
    {
        if (!named.TryGetValue(name, out var source)) throw new ArgumentException($"weights lack tensor '{name}'");
        if (!source.shape.SequenceEqual(shape)) throw new ArgumentException($"tensor '{name}': expected shape [{string.Join(',', shape)}], got [{string.Join(',', source.shape)}]");
        return source.to(DType, Device).clone();
    }

    private T Load<T>(T module, string prefix, Dictionary<string, Tensor> named) where T : nn.Module
    {
        using var noGrad = no_grad();
        module.to(DType).to(Device);
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (!named.TryGetValue(prefix + name, out var source)) throw new ArgumentException($"weights lack tensor '{prefix + name}'");
            if (!source.shape.SequenceEqual(parameter.shape))
                throw new ArgumentException($"tensor '{prefix + name}': expected shape [{string.Join(',', parameter.shape)}], got [{string.Join(',', source.shape)}]");
            parameter.copy_(source);
        }
        module.eval();
        return module;
    }

    private static long ElementSize(ScalarType t) => t is ScalarType.Float16 or ScalarType.BFloat16 ? 2 : 4;

    public void Dispose()
    {
        foreach (var b in _blocks) b.Dispose();
        _norm?.Dispose();
        _tokens?.Dispose();
        _positions?.Dispose();
        _head?.Dispose();
    }
}
