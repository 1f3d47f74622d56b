using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Regatta.Learning.Models;

/// <summary>
/// Decoder-only language model: token + learned position embedding, pre-LN blocks, final LayerNorm and a
/// vocabulary head. The stages are public so that a worker serving blocks [start, end) of a pipeline can run
/// just its share: <c>forward(x) == Head(RunBlocks(Embed(x), 0, BlockCount))</c>.
/// </summary>
public sealed class TransformerLM : nn.Module<Tensor, Tensor>
{
    private readonly Embedding tokens;
    private readonly Embedding positions;
    private readonly ModuleList<TransformerBlock> blocks = new();
    private readonly LayerNorm norm;
    private readonly Linear head;

    public TransformerLM(TransformerArchitecture architecture) : base("transformer")
    {
        Architecture = architecture;
        tokens = nn.Embedding(architecture.Vocab, architecture.Width);
        positions = nn.Embedding(architecture.Context, architecture.Width);
        for (var i = 0; i < architecture.Blocks; i++)
            blocks.Add(new TransformerBlock(architecture.Width, architecture.Heads));
        norm = nn.LayerNorm(architecture.Width);
        head = nn.Linear(architecture.Width, architecture.Vocab);
        RegisterComponents();
    }

    public TransformerArchitecture Architecture { get; }

    public int BlockCount => blocks.Count;

    /// <summary>Token ids [batch, time ≤ context] → hidden states [batch, time, width].</summary>
    public Tensor Embed(Tensor tokenIds)
    {
        var time = tokenIds.shape[1];
        if (time > Architecture.Context)
            throw new ArgumentException($"sequence of {time} tokens exceeds the model's context of {Architecture.Context}", nameof(tokenIds));
        using var scope = NewDisposeScope();
        return Embed(tokens, positions, tokenIds).MoveToOuterDisposeScope();
    }

    /// <summary>Token + learned position embedding of ids [batch, time]; shared with <see cref="TransformerShard"/>.</summary>
    internal static Tensor Embed(Embedding tokens, Embedding positions, Tensor tokenIds)
    {
        var at = arange(tokenIds.shape[1], dtype: int64, device: tokenIds.device);
        return tokens.forward(tokenIds) + positions.forward(at);
    }

    /// <summary>Runs blocks [start, end) on hidden states [batch, time, width].</summary>
    public Tensor RunBlocks(Tensor hidden, int start, int end)
    {
        if (start < 0 || end > BlockCount || start > end)
            throw new ArgumentOutOfRangeException(nameof(start), $"block range [{start},{end}) is not within [0,{BlockCount})");
        using var scope = NewDisposeScope();
        var x = hidden;
        for (var i = start; i < end; i++)
            x = blocks[i].forward(x);
        // With an empty range the input itself comes back; return an alias so the caller owns what it gets.
        return (start == end ? x.alias() : x).MoveToOuterDisposeScope();
    }

    /// <summary>Hidden states [batch, time, width] → next-token logits [batch, time, vocab].</summary>
    public Tensor Head(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return head.forward(norm.forward(hidden)).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor tokenIds)
    {
        using var scope = NewDisposeScope();
        return Head(RunBlocks(Embed(tokenIds), 0, BlockCount)).MoveToOuterDisposeScope();
    }
}
