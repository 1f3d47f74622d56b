using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Regatta.Learning.Models;

/// <summary>Pre-LN block: x + attention(LN(x)), then x + MLP(LN(x)), with causal multi-head self-attention.</summary>
public sealed class TransformerBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly Linear qkv;
    private readonly Linear projection;
    private readonly LayerNorm norm2;
    private readonly Linear expand;
    private readonly Linear contract;
    private readonly int heads;

    public TransformerBlock(int width, int heads) : base("block")
    {
        this.heads = heads;
        norm1 = nn.LayerNorm(width);
        qkv = nn.Linear(width, 3L * width);
        projection = nn.Linear(width, width);
        norm2 = nn.LayerNorm(width);
        expand = nn.Linear(width, 4L * width);
        contract = nn.Linear(4L * width, width);
        RegisterComponents();
    }

    /// <summary>[batch, time, width] → [batch, time, width].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (batch, time, width) = (x.shape[0], x.shape[1], x.shape[2]);
        // [batch, time, 3, heads, headWidth] → three [batch, heads, time, headWidth].
        var parts = qkv.forward(norm1.forward(x)).view(batch, time, 3, heads, width / heads).permute(2, 0, 3, 1, 4);
        var attended = nn.functional.scaled_dot_product_attention(parts[0], parts[1], parts[2], is_casual: true);
        x = x + projection.forward(attended.transpose(1, 2).reshape(batch, time, width));
        x = x + contract.forward(nn.functional.gelu(expand.forward(norm2.forward(x))));
        return x.MoveToOuterDisposeScope();
    }
}
