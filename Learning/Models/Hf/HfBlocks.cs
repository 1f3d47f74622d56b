using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Regatta.Learning.Models.Hf;

/// <summary>One decoder block of a Hugging Face model; its parameter names are the checkpoint's (after "h.N." / "model.layers.N.").</summary>
public abstract class HfBlock : nn.Module
{
    protected HfBlock(string name) : base(name) { }

    /// <summary>x [1, time, width] at positions [position, position + time) → the same shape.</summary>
    public abstract Tensor Forward(Tensor x, int position, KvSlot? slot, (Tensor Cos, Tensor Sin)? rope);

    public static HfBlock Create(HfConfig c) => c.Family == HfFamily.Gpt2 ? new Gpt2Block(c) : new LlamaBlock(c);
}

/// <summary>Children under their checkpoint names (a submodule such as "attn" that only groups them).</summary>
internal sealed class ModuleGroup : nn.Module
{
    public ModuleGroup(params (string Name, nn.Module Module)[] children) : base("group")
    {
        foreach (var (name, module) in children) register_module(name, module);
    }
}

/// <summary>GPT-2: pre-LN, fused qkv Conv1D, tanh-approximated GELU MLP.</summary>
public sealed class Gpt2Block : HfBlock
{
    private readonly LayerNorm _ln1, _ln2;
    private readonly Conv1D _qkv, _attnProjection, _expand, _contract;
    private readonly int _heads, _width;

    public Gpt2Block(HfConfig c) : base("gpt2_block")
    {
        (_heads, _width) = (c.Heads, c.Width);
        _ln1 = nn.LayerNorm(c.Width, c.NormEps);
        _ln2 = nn.LayerNorm(c.Width, c.NormEps);
        _qkv = new Conv1D(c.Width, 3L * c.Width);
        _attnProjection = new Conv1D(c.Width, c.Width);
        _expand = new Conv1D(c.Width, c.Intermediate);
        _contract = new Conv1D(c.Intermediate, c.Width);
        register_module("ln_1", _ln1);
        register_module("attn", new ModuleGroup(("c_attn", _qkv), ("c_proj", _attnProjection)));
        register_module("ln_2", _ln2);
        register_module("mlp", new ModuleGroup(("c_fc", _expand), ("c_proj", _contract)));
    }

    public override Tensor Forward(Tensor x, int position, KvSlot? slot, (Tensor Cos, Tensor Sin)? rope)
    {
        using var scope = NewDisposeScope();
        var time = x.shape[1];
        var headWidth = _width / _heads;
        var qkv = _qkv.forward(_ln1.forward(x)).view(1, time, 3, _heads, headWidth).permute(2, 0, 3, 1, 4);
        var attended = Attention.Attend(qkv[0], qkv[1], qkv[2], slot, position);
        x = x + _attnProjection.forward(attended);
        var h = _expand.forward(_ln2.forward(x));
        // gelu_new: 0.5·h·(1 + tanh(√(2/π)·(h + 0.044715·h³))).
        h = 0.5 * h * (1 + tanh(Math.Sqrt(2 / Math.PI) * (h + 0.044715 * h.pow(3))));
        return (x + _contract.forward(h)).MoveToOuterDisposeScope();
    }
}

/// <summary>Llama family: RMSNorm, RoPE, grouped-query attention, SwiGLU MLP.</summary>
public sealed class LlamaBlock : HfBlock
{
    private readonly RmsNorm _inputNorm, _postNorm;
    private readonly Linear _q, _k, _v, _o, _gate, _up, _down;
    private readonly HfConfig _c;

    public LlamaBlock(HfConfig c) : base("llama_block")
    {
        _c = c;
        _inputNorm = new RmsNorm(c.Width, c.NormEps);
        _postNorm = new RmsNorm(c.Width, c.NormEps);
        _q = nn.Linear(c.Width, (long)c.Heads * c.HeadWidth, hasBias: c.AttentionBias);
        _k = nn.Linear(c.Width, (long)c.KvHeads * c.HeadWidth, hasBias: c.AttentionBias);
        _v = nn.Linear(c.Width, (long)c.KvHeads * c.HeadWidth, hasBias: c.AttentionBias);
        _o = nn.Linear((long)c.Heads * c.HeadWidth, c.Width, hasBias: false);
        _gate = nn.Linear(c.Width, c.Intermediate, hasBias: false);
        _up = nn.Linear(c.Width, c.Intermediate, hasBias: false);
        _down = nn.Linear(c.Intermediate, c.Width, hasBias: false);
        register_module("input_layernorm", _inputNorm);
        register_module("self_attn", new ModuleGroup(("q_proj", _q), ("k_proj", _k), ("v_proj", _v), ("o_proj", _o)));
        register_module("post_attention_layernorm", _postNorm);
        register_module("mlp", new ModuleGroup(("gate_proj", _gate), ("up_proj", _up), ("down_proj", _down)));
    }

    public override Tensor Forward(Tensor x, int position, KvSlot? slot, (Tensor Cos, Tensor Sin)? rope)
    {
        using var scope = NewDisposeScope();
        var time = x.shape[1];
        var (cos, sin) = rope ?? throw new ArgumentException("a Llama block needs rotary embeddings", nameof(rope));
        var h = _inputNorm.forward(x);
        var q = _q.forward(h).view(1, time, _c.Heads, _c.HeadWidth).transpose(1, 2);
        var k = _k.forward(h).view(1, time, _c.KvHeads, _c.HeadWidth).transpose(1, 2);
        var v = _v.forward(h).view(1, time, _c.KvHeads, _c.HeadWidth).transpose(1, 2);
        var attended = Attention.Attend(Rope.Apply(q, cos, sin), Rope.Apply(k, cos, sin), v, slot, position);
        x = x + _o.forward(attended);
        h = _postNorm.forward(x);
        return (x + _down.forward(nn.functional.silu(_gate.forward(h)) * _up.forward(h))).MoveToOuterDisposeScope();
    }
}
