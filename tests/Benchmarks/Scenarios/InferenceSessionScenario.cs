using System.Diagnostics;
using System.Text.Json;
using Regatta.Learning.Models;
using Regatta.Learning.Models.Hf;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Greedy generation of 128 tokens from a random Llama-family checkpoint (written here in the Hugging Face layout)
/// through three shards holding a third each, the hidden states handed on as the float arrays a hop sends: with
/// per-hop key/value caches (sessions) against re-running the whole sequence every step, and the chain against one
/// shard holding the whole model. Hops are in-process, so the chain row measures the split (three modules, the
/// hand-off copies), not the network. Memory: the resident memory a middle third adds against its share of the weights.
/// </summary>
public static class InferenceSessionScenario
{
    public static IEnumerable<BenchmarkResult> Run(bool quick, int repeats)
    {
        var dir = Directory.CreateTempSubdirectory("regatta-bench-llama-").FullName;
        // One torch thread, as an agent serving small blocks runs: with two, OpenMP spin-waits on the shared box
        // dominate ops this small (see the training overhead note).
        var threads = get_num_threads();
        set_num_threads(1);
        try
        {
            var (width, blocks) = quick ? (128, 6) : (384, 6);
            Write(dir, width, blocks);
            var checkpoint = HfCheckpoint.Open(dir);
            var parts = Enumerable.Range(0, blocks + 2).Select(checkpoint.PartBytes).ToList();
            var config = checkpoint.Config;
            HfShard Shard(int start, int end) => new(config, start, end, TransformerParts.Needed(start, end, blocks).Select(i => parts[i]));

            var share = 2 * config.ParametersPerBlock * 4;
            var memory = ResidentBytesOf(() => Shard(2, 4));

            using var first = Shard(0, 2);
            using var middle = Shard(2, 4);
            using var last = Shard(4, 6);
            using var whole = Shard(0, 6);
            int[] prompt = [.. Enumerable.Range(1, 8)];
            var newTokens = quick ? 32 : 128; // the CI smoke keeps it short; the published figure is 128
            List<int>? cachedTokens = null, uncachedTokens = null;
            var cached = Measure.BestOf(repeats, () => cachedTokens = Generate([first, middle, last], prompt, newTokens, sessions: true));
            var uncached = Measure.BestOf(repeats, () => uncachedTokens = Generate([first, middle, last], prompt, newTokens, sessions: false));
            var single = Measure.BestOf(repeats, () => Generate([whole], prompt, newTokens, sessions: true));
            if (!cachedTokens!.SequenceEqual(uncachedTokens!)) throw new InvalidOperationException("generation with sessions differs from generation without");
            double PerSecond(TimeSpan t) => newTokens / t.TotalSeconds;
            var perHop = (cached - single).TotalMilliseconds / (newTokens * 2.0); // two hand-offs per step
            var model = $"Llama-family width {width}, {blocks} blocks, GQA {config.Heads}/{config.KvHeads}, float32";
            yield return BenchmarkResult.Compare($"Generate {newTokens} tokens, 3-hop chain: sessions (KV cache) vs whole sequence per step", PerSecond(cached), PerSecond(uncached),
                "tokens/s", "≥ 5×", r => r >= 5, model);
            yield return BenchmarkResult.Compare($"Generate {newTokens} tokens: 3-hop chain vs one process holding the whole model (both with sessions)", PerSecond(cached), PerSecond(single),
                "tokens/s", "≥ 0.5", r => r >= 0.5, $"in-process hops; per-hop overhead {perHop:F3} ms");
            yield return BenchmarkResult.Compare("Memory of an agent's shard (middle third, 2 blocks) vs its share of the weights", memory, share,
                "bytes", "≤ 1.2×", r => r <= 1.2, "resident memory the shard adds, float32");
        }
        finally
        {
            set_num_threads(threads);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static List<int> Generate(HfShard[] chain, int[] prompt, int newTokens, bool sessions)
    {
        var caches = chain.Select(s => sessions ? s.NewCache() : null).ToArray();
        try
        {
            var tokens = prompt.ToList();
            var position = 0;
            for (var step = 0; step < newTokens; step++)
            {
                int[] input = sessions ? [.. tokens.Skip(position)] : [.. tokens];
                var from = sessions ? position : 0;
                float[]? hidden = null;
                float[] output = [];
                for (var h = 0; h < chain.Length; h++)
                    output = hidden = chain[h].Forward(chain[h].Start, chain[h].End, h == 0 ? input : null, h == 0 ? null : hidden, input.Length, from, caches[h]);
                position = tokens.Count;
                tokens.Add(Array.IndexOf(output, output.Max()));
            }
            return tokens;
        }
        finally
        {
            foreach (var c in caches) c?.Dispose();
        }
    }

    /// <summary>Resident set growth while the built object is alive (after the transient load buffers are collected).</summary>
    private static long ResidentBytesOf(Func<IDisposable> build)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = Process.GetCurrentProcess().WorkingSet64;
        using var built = build();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64 - before;
    }

    /// <summary>A random Llama-family checkpoint: config.json and model.safetensors.</summary>
    private static void Write(string dir, int width, int blocks)
    {
        var (heads, kvHeads, intermediate, vocab, context) = (8, 4, width * 8 / 3 / 8 * 8, 2048, 512);
        var headWidth = width / heads;
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model_type"] = "llama", ["vocab_size"] = vocab, ["hidden_size"] = width, ["num_attention_heads"] = heads,
            ["num_key_value_heads"] = kvHeads, ["intermediate_size"] = intermediate, ["num_hidden_layers"] = blocks,
            ["max_position_embeddings"] = context, ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 10000.0, ["torch_dtype"] = "float32",
        }));
        using var scope = NewDisposeScope();
        var generator = new TorchSharp.torch.Generator(11);
        Tensor R(params long[] shape) => randn(shape, generator: generator) * 0.05;
        var tensors = new Dictionary<string, Tensor> { ["model.embed_tokens.weight"] = R(vocab, width), ["model.norm.weight"] = ones(width), ["lm_head.weight"] = R(vocab, width) };
        for (var i = 0; i < blocks; i++)
        {
            var p = $"model.layers.{i}.";
            tensors[p + "input_layernorm.weight"] = ones(width);
            tensors[p + "post_attention_layernorm.weight"] = ones(width);
            tensors[p + "self_attn.q_proj.weight"] = R(heads * headWidth, width);
            tensors[p + "self_attn.k_proj.weight"] = R(kvHeads * headWidth, width);
            tensors[p + "self_attn.v_proj.weight"] = R(kvHeads * headWidth, width);
            tensors[p + "self_attn.o_proj.weight"] = R(width, heads * headWidth);
            tensors[p + "mlp.gate_proj.weight"] = R(intermediate, width);
            tensors[p + "mlp.up_proj.weight"] = R(intermediate, width);
            tensors[p + "mlp.down_proj.weight"] = R(width, intermediate);
        }
        using var file = File.Create(Path.Combine(dir, "model.safetensors"));
        Safetensors.SaveStateDict(file, tensors);
    }
}
