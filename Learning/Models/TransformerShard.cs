using Regatta.Learning.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Regatta.Learning.Models;

/// <summary>
/// The share of a <see cref="TransformerLM"/> one worker serves: blocks [Start, End), plus the embeddings when it
/// starts at block 0 and the final norm and head when it ends at the last block. Only those weights are built and
/// loaded, so a worker needs memory for its share only. Inference only (no gradients).
/// </summary>
public sealed class TransformerShard : IBlockShard
{
    private readonly Embedding? _tokens;
    private readonly Embedding? _positions;
    private readonly List<TransformerBlock> _blocks = [];
    private readonly LayerNorm? _norm;
    private readonly Linear? _head;
    private readonly List<nn.Module> _modules = [];

    public TransformerShard(TransformerArchitecture architecture, int start, int end, IEnumerable<ModelWeights> parts, Device? device = null,
        ScalarType dtype = ScalarType.Float32)
    {
        if (start < 0 || end > architecture.Blocks || start >= end)
            throw new ArgumentOutOfRangeException(nameof(start), $"block range [{start},{end}) is not within [0,{architecture.Blocks})");
        (Architecture, Start, End, Device, DType) = (architecture, start, end, device ?? CPU, dtype);
        var named = parts.SelectMany(p => p.Tensors).ToDictionary(t => t.Name, StringComparer.Ordinal);
        if (start == 0)
        {
            _tokens = Load(nn.Embedding(architecture.Vocab, architecture.Width), "tokens.", named);
            _positions = Load(nn.Embedding(architecture.Context, architecture.Width), "positions.", named);
        }
        for (var b = start; b < end; b++) _blocks.Add(Load(new TransformerBlock(architecture.Width, architecture.Heads), $"blocks.{b}.", named));
        if (end == architecture.Blocks)
        {
            _norm = Load(nn.LayerNorm(architecture.Width), "norm.", named);
            _head = Load(nn.Linear(architecture.Width, architecture.Vocab), "head.", named);
        }
        foreach (var m in _modules)
        {
            m.eval();
            m.to(Device);
            if (dtype != ScalarType.Float32) m.to(dtype);
        }
    }

    public TransformerArchitecture Architecture { get; }
    public int Start { get; }
    public int End { get; }
    public Device Device { get; }
    public ScalarType DType { get; }
    public bool Embeds => _tokens is not null;
    public bool HasHead => _head is not null;
    public long ParameterCount => _modules.Sum(m => m.parameters().Sum(p => p.numel()));
    public int Blocks => Architecture.Blocks;
    /// <summary>Learned positions and no cache: every step runs the whole sequence.</summary>
    public long CacheBytesPerToken => 0;
    public Hf.KvCache? NewCache() => null;

    /// <summary>
    /// Runs blocks [from, to) (within this shard's range) on token ids (when from is 0) or hidden states [time, width];
    /// returns hidden states [time, width], or when <paramref name="to"/> is the last block the next-token logits of the
    /// last position [vocab]. Both come back as float32 on the CPU.
    /// </summary>
    public float[] Forward(int from, int to, int[]? tokens, float[]? hidden, int time, int position = 0, Hf.KvCache? cache = null)
    {
        if (position != 0 || cache is not null) throw new ArgumentException("this model keeps no session cache: the whole sequence is needed (position 0)");
        if (from < Start || to > End || from >= to)
            throw new ArgumentOutOfRangeException(nameof(from), $"blocks [{from},{to}) are not within this shard's [{Start},{End})");
        if (time < 1 || time > Architecture.Context)
            throw new ArgumentOutOfRangeException(nameof(time), $"time {time} is not within [1, {Architecture.Context}]");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor x;
        if (from == 0)
        {
            if (tokens is null || tokens.Length != time) throw new ArgumentException($"block 0 needs {time} token ids");
            if (tokens.Any(t => t < 0 || t >= Architecture.Vocab)) throw new ArgumentException($"token ids must be in [0, {Architecture.Vocab})");
            var ids = tensor(tokens.Select(t => (long)t).ToArray(), [1, time], device: Device);
            x = TransformerLM.Embed(_tokens!, _positions!, ids);
        }
        else
        {
            if (hidden is null || hidden.Length != (long)time * Architecture.Width)
                throw new ArgumentException($"block {from} needs hidden states of {time}×{Architecture.Width} values");
            if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(hidden)) throw new ArgumentException("hidden states hold a non-finite value");
            x = tensor(hidden, [1, time, Architecture.Width], device: Device).to(DType);
        }
        for (var b = from; b < to; b++) x = _blocks[b - Start].forward(x);
        if (to == Architecture.Blocks)
        {
            var logits = _head!.forward(_norm!.forward(x.select(1, -1)));
            return logits.to(float32).cpu().contiguous().data<float>().ToArray();
        }
        return x.to(float32).cpu().contiguous().data<float>().ToArray();
    }

    private T Load<T>(T module, string prefix, Dictionary<string, NamedTensor> named) where T : nn.Module
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (!named.TryGetValue(prefix + name, out var source))
                throw new ArgumentException($"weights lack tensor '{prefix + name}'");
            if (!source.Shape.Select(d => (long)d).SequenceEqual(parameter.shape))
                throw new ArgumentException($"tensor '{prefix + name}': expected shape [{string.Join(',', parameter.shape)}], got [{string.Join(',', source.Shape)}]");
            parameter.copy_(tensor(source.Data, parameter.shape));
        }
        _modules.Add(module);
        return module;
    }

    public void Dispose()
    {
        foreach (var m in _modules) m.Dispose();
    }
}
