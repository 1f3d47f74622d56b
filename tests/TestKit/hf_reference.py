#!/usr/bin/env python3
"""Writes a small random GPT-2 or Llama checkpoint in the Hugging Face layout and the reference logits of an
independent PyTorch forward pass (written here from the architectures' definitions, sharing no code with Regatta).

usage: hf_reference.py gpt2|llama OUT_DIR SEED
OUT_DIR gets config.json, model.safetensors (GPT-2) or two shards + model.safetensors.index.json (Llama),
tokenizer.json (+ tokenizer_config.json with a chat template for Llama) and reference.json:
{"prompts": [[ids]], "logits": [[last-position logits]], "greedy": [ids], "greedy_prompt": [ids]}."""
import json, math, os, struct, sys
import torch

family, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.manual_seed(seed)
os.makedirs(out, exist_ok=True)

def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes() if t.dtype == torch.float32 else t.contiguous().view(torch.int16).numpy().tobytes()
        dtype = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)

def rnd(*shape, scale=0.2):
    return torch.randn(*shape) * scale

# A byte-level BPE tokenizer (GPT-2's byte-to-unicode alphabet plus a few merges), as tokenizer.json holds it.
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]

alphabet = bytes_to_unicode()
vocab = {ch: i for i, ch in enumerate(alphabet)}
merges = [("h", "e"), ("l", "l"), ("Ġ", "t"), ("Ġt", "he"), ("o", "r"), ("Ġ", "w"), ("Ġw", "or"), ("ll", "o"), ("he", "llo"), ("Ġ", "a")]
for a, b in merges:
    vocab[a + b] = len(vocab)

if family == "gpt2":
    V, W, H, L, P = 300, 32, 4, 6, 64
    specials = {"<|endoftext|>": V - 1}
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": V, "n_embd": W, "n_head": H, "n_layer": L,
              "n_positions": P, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "torch_dtype": "float32",
              "bos_token_id": V - 1, "eos_token_id": V - 1}
    sd = {"wte.weight": rnd(V, W), "wpe.weight": rnd(P, W, scale=0.05)}
    for i in range(L):
        p = f"h.{i}."
        sd[p + "ln_1.weight"] = 1 + rnd(W, scale=0.1); sd[p + "ln_1.bias"] = rnd(W, scale=0.1)
        sd[p + "attn.c_attn.weight"] = rnd(W, 3 * W); sd[p + "attn.c_attn.bias"] = rnd(3 * W, scale=0.05)
        sd[p + "attn.c_proj.weight"] = rnd(W, W); sd[p + "attn.c_proj.bias"] = rnd(W, scale=0.05)
        sd[p + "attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)  # the mask buffer old GPT-2 files carry
        sd[p + "ln_2.weight"] = 1 + rnd(W, scale=0.1); sd[p + "ln_2.bias"] = rnd(W, scale=0.1)
        sd[p + "mlp.c_fc.weight"] = rnd(W, 4 * W); sd[p + "mlp.c_fc.bias"] = rnd(4 * W, scale=0.05)
        sd[p + "mlp.c_proj.weight"] = rnd(4 * W, W); sd[p + "mlp.c_proj.bias"] = rnd(W, scale=0.05)
    sd["ln_f.weight"] = 1 + rnd(W, scale=0.1); sd["ln_f.bias"] = rnd(W, scale=0.1)
    write_safetensors(os.path.join(out, "model.safetensors"), sd)

    def ln(x, w, b):
        mu = x.mean(-1, keepdim=True); var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + 1e-5) * w + b

    def forward(ids):
        T = len(ids)
        x = sd["wte.weight"][ids] + sd["wpe.weight"][:T]
        d = W // H
        mask = torch.full((T, T), float("-inf")).triu(1)
        for i in range(L):
            p = f"h.{i}."
            h = ln(x, sd[p + "ln_1.weight"], sd[p + "ln_1.bias"]) @ sd[p + "attn.c_attn.weight"] + sd[p + "attn.c_attn.bias"]
            q, k, v = h.split(W, -1)
            q, k, v = (t.view(T, H, d).transpose(0, 1) for t in (q, k, v))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + mask, -1) @ v
            x = x + a.transpose(0, 1).reshape(T, W) @ sd[p + "attn.c_proj.weight"] + sd[p + "attn.c_proj.bias"]
            h = ln(x, sd[p + "ln_2.weight"], sd[p + "ln_2.bias"]) @ sd[p + "mlp.c_fc.weight"] + sd[p + "mlp.c_fc.bias"]
            h = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
            x = x + h @ sd[p + "mlp.c_proj.weight"] + sd[p + "mlp.c_proj.bias"]
        return ln(x, sd["ln_f.weight"], sd["ln_f.bias"]) @ sd["wte.weight"].T
    tokenizer_config = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}
else:
    V, W, H, KV, I, L, P = 320, 32, 4, 2, 48, 6, 128
    specials = {"<|begin_of_text|>": V - 5, "<|end_of_text|>": V - 4, "<|start_header_id|>": V - 3, "<|end_header_id|>": V - 2, "<|eot_id|>": V - 1}
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": V, "hidden_size": W, "num_attention_heads": H,
              "num_key_value_heads": KV, "intermediate_size": I, "num_hidden_layers": L, "max_position_embeddings": P,
              "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "hidden_act": "silu", "tie_word_embeddings": False, "torch_dtype": "float32",
              "bos_token_id": V - 5, "eos_token_id": [V - 4, V - 1]}
    d = W // H
    sd = {"model.embed_tokens.weight": rnd(V, W)}
    for i in range(L):
        p = f"model.layers.{i}."
        sd[p + "input_layernorm.weight"] = 1 + rnd(W, scale=0.1)
        sd[p + "self_attn.q_proj.weight"] = rnd(H * d, W); sd[p + "self_attn.k_proj.weight"] = rnd(KV * d, W)
        sd[p + "self_attn.v_proj.weight"] = rnd(KV * d, W); sd[p + "self_attn.o_proj.weight"] = rnd(W, H * d)
        sd[p + "post_attention_layernorm.weight"] = 1 + rnd(W, scale=0.1)
        sd[p + "mlp.gate_proj.weight"] = rnd(I, W); sd[p + "mlp.up_proj.weight"] = rnd(I, W); sd[p + "mlp.down_proj.weight"] = rnd(W, I)
    sd["model.norm.weight"] = 1 + rnd(W, scale=0.1)
    sd["lm_head.weight"] = rnd(V, W)
    names = list(sd)
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half], "model-00002-of-00002.safetensors": names[half:]}
    for file, ns in shards.items():
        write_safetensors(os.path.join(out, file), {n: sd[n] for n in ns})
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": {n: file for file, ns in shards.items() for n in ns}}, f)

    def rms(x, w):
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-5) * w

    def rotate(x, pos):
        # Pairs (i, i + d/2) rotate by pos·θ_i with θ_i = base^(-2i/d).
        theta = 500000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
        angle = pos[:, None].double() * theta[None, :]
        c, s = torch.cos(angle).float(), torch.sin(angle).float()
        x1, x2 = x[..., : d // 2], x[..., d // 2:]
        return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], -1)

    def forward(ids):
        T = len(ids)
        x = sd["model.embed_tokens.weight"][ids]
        pos = torch.arange(T)
        mask = torch.full((T, T), float("-inf")).triu(1)
        for i in range(L):
            p = f"model.layers.{i}."
            h = rms(x, sd[p + "input_layernorm.weight"])
            q = (h @ sd[p + "self_attn.q_proj.weight"].T).view(T, H, d).transpose(0, 1)
            k = (h @ sd[p + "self_attn.k_proj.weight"].T).view(T, KV, d).transpose(0, 1)
            v = (h @ sd[p + "self_attn.v_proj.weight"].T).view(T, KV, d).transpose(0, 1)
            q, k = rotate(q, pos), rotate(k, pos)
            outs = []
            for head in range(H):
                g = head // (H // KV)  # grouped-query: heads share their group's key/value head
                outs.append(torch.softmax(q[head] @ k[g].T / math.sqrt(d) + mask, -1) @ v[g])
            x = x + torch.cat(outs, -1) @ sd[p + "self_attn.o_proj.weight"].T
            h = rms(x, sd[p + "post_attention_layernorm.weight"])
            g = h @ sd[p + "mlp.gate_proj.weight"].T
            x = x + (g * torch.sigmoid(g) * (h @ sd[p + "mlp.up_proj.weight"].T)) @ sd[p + "mlp.down_proj.weight"].T
        return rms(x, sd["model.norm.weight"]) @ sd["lm_head.weight"].T
    tokenizer_config = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                        "chat_template": "{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n{{ message['content'] }}<|eot_id|>{% endfor %}<|start_header_id|>assistant<|end_header_id|>\n\n"}

with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(config, f, indent=1)
tokenizer = {"version": "1.0", "added_tokens": [{"id": i, "content": s, "special": True} for s, i in specials.items()],
             "normalizer": None, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False},
             "decoder": {"type": "ByteLevel"},
             "model": {"type": "BPE", "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]}}
with open(os.path.join(out, "tokenizer.json"), "w") as f:
    json.dump(tokenizer, f)
with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
    json.dump(tokenizer_config, f)

with torch.no_grad():
    prompts = [[5], [1, 2, 3, 4, 5, 6, 7, 8], [60, 0, 33, 33, 12, 9, 41, 7, 7, 2, 50, 19, 250, 3]]
    logits = [forward(torch.tensor(p))[-1].tolist() for p in prompts]
    seq = [3, 1, 4, 1, 5]
    for _ in range(32):
        seq.append(int(forward(torch.tensor(seq))[-1].argmax()))
with open(os.path.join(out, "reference.json"), "w") as f:
    json.dump({"prompts": prompts, "logits": logits, "greedy_prompt": [3, 1, 4, 1, 5], "greedy": seq[5:]}, f)
