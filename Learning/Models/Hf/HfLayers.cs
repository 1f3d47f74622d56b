using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Regatta.Learning.Models.Hf;

/// <summary>GPT-2's Conv1D: a linear map whose weight is stored [in, out] (transposed from nn.Linear).</summary>
internal sealed class Conv1D : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;

    public Conv1D(long inputs, long outputs) : base("conv1d")
    {
        weight = nn.Parameter(empty(inputs, outputs), requires_grad: false);
        bias = nn.Parameter(zeros(outputs), requires_grad: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x.matmul(weight).add_(bias);
}

/// <summary>Llama's RMSNorm, computed in float32 and cast back as Hugging Face does.</summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public RmsNorm(long width, double eps) : base("rmsnorm")
    {
        weight = nn.Parameter(ones(width), requires_grad: false);
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x.to(float32);
        h = h * rsqrt(h.pow(2).mean([-1], keepdim: true) + eps);
        return (weight * h.to(x.dtype)).MoveToOuterDisposeScope();
    }
}

/// <summary>Rotary position embedding (the Hugging Face "rotate half" layout) for positions [position, position + time).</summary>
public sealed class Rope(int headWidth, double theta)
{
    private readonly float[] _inverse = [.. Enumerable.Range(0, headWidth / 2).Select(i => (float)(1.0 / Math.Pow(theta, 2.0 * i / headWidth)))];

    /// <summary>cos and sin [time, headWidth] in the given dtype.</summary>
    public (Tensor Cos, Tensor Sin) At(int position, int time, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        var positions = arange(position, position + time, dtype: float32, device: device);
        var freqs = outer(positions, tensor(_inverse, device: device));
        var emb = cat([freqs, freqs], -1);
        return (emb.cos().to(dtype).MoveToOuterDisposeScope(), emb.sin().to(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>x [batch, heads, time, headWidth] rotated.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var half = x.shape[^1] / 2;
        var rotated = cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }
}

/// <summary>Causal attention over a session's cached positions plus the new ones.</summary>
internal static class Attention
{
    /// <summary>
    /// q [1, heads, time, d], k and v [1, kvHeads, time, d] for positions [position, position + time); returns
    /// [1, time, heads·d]. With a slot the keys and values of earlier positions come from it (and the new ones go in).
    /// </summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, KvSlot? slot, int position)
    {
        using var scope = NewDisposeScope();
        if (slot is not null) (k, v) = slot.Append(k, v, position);
        else if (position != 0) throw new ArgumentException("without a session the whole sequence is needed (position 0)");
        var (heads, kvHeads) = (q.shape[1], k.shape[1]);
        if (kvHeads != heads)
        {
            k = k.repeat_interleave(heads / kvHeads, 1);
            v = v.repeat_interleave(heads / kvHeads, 1);
        }
        var (time, total) = (q.shape[2], k.shape[2]);
        Tensor attended;
        if (time == 1) attended = nn.functional.scaled_dot_product_attention(q, k, v);
        else if (total == time) attended = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        else
        {
            // New query i sits at position total - time + i and sees keys up to it.
            var mask = ones(time, total, dtype: @bool, device: q.device).tril(total - time);
            attended = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        }
        return attended.transpose(1, 2).reshape(1, time, heads * q.shape[3]).MoveToOuterDisposeScope();
    }
}
