using Regatta.Learning.Models;
using Regatta.Learning.Models.Hf;

namespace Regatta.Tests;

/// <summary>Writes the GPT-2 and Llama reference checkpoints once for the class (python3-torch).</summary>
public sealed class HfCheckpoints : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("regatta-hf-").FullName;

    public HfCheckpoints()
    {
        Gpt2 = HfReference.Write("gpt2", _dir);
        Llama = HfReference.Write("llama", _dir);
    }

    public HfReference Gpt2 { get; }
    public HfReference Llama { get; }
    public HfReference Of(string family) => family == "gpt2" ? Gpt2 : Llama;

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

public sealed class HfModelTests(HfCheckpoints checkpoints) : IClassFixture<HfCheckpoints>
{
    private static List<byte[]> Parts(HfCheckpoint checkpoint) =>
        [.. Enumerable.Range(0, checkpoint.Config.Blocks + 2).Select(checkpoint.PartBytes)];

    private static HfShard Shard(HfCheckpoint c, List<byte[]> parts, int start, int end) =>
        new(c.Config, start, end, TransformerParts.Needed(start, end, c.Config.Blocks).Select(i => parts[i]));

    private static void Near(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f, $"logit {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void The_whole_model_and_three_thirds_in_a_chain_give_the_PyTorch_reference_logits(string family)
    {
        var reference = checkpoints.Of(family);
        var checkpoint = HfCheckpoint.Open(reference.Folder);
        Assert.Equal(6, checkpoint.Config.Blocks);
        var parts = Parts(checkpoint);
        using var whole = Shard(checkpoint, parts, 0, 6);
        using var first = Shard(checkpoint, parts, 0, 2);
        using var middle = Shard(checkpoint, parts, 2, 4);
        using var last = Shard(checkpoint, parts, 4, 6);
        // Each third holds only its share: two blocks, plus the embedding or the head.
        Assert.Equal(whole.ParameterCount, first.ParameterCount + middle.ParameterCount + last.ParameterCount);
        Assert.Equal(2 * checkpoint.Config.ParametersPerBlock, middle.ParameterCount);
        for (var p = 0; p < reference.Prompts.Length; p++)
        {
            var prompt = reference.Prompts[p];
            Near(reference.Logits[p], whole.Forward(0, 6, prompt, null, prompt.Length));
            var hidden = first.Forward(0, 2, prompt, null, prompt.Length);
            hidden = middle.Forward(2, 4, null, hidden, prompt.Length);
            Near(reference.Logits[p], last.Forward(4, 6, null, hidden, prompt.Length));
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Greedy_generation_with_a_kv_cache_per_third_equals_the_reference(string family)
    {
        var reference = checkpoints.Of(family);
        var checkpoint = HfCheckpoint.Open(reference.Folder);
        var parts = Parts(checkpoint);
        using var first = Shard(checkpoint, parts, 0, 2);
        using var rest = Shard(checkpoint, parts, 2, 6);
        using var firstCache = first.NewCache();
        using var restCache = rest.NewCache();
        var sequence = reference.GreedyPrompt.ToList();
        int[] input = [.. sequence];
        var position = 0;
        for (var step = 0; step < reference.Greedy.Length; step++)
        {
            var hidden = first.Forward(0, 2, input, null, input.Length, position, firstCache);
            var logits = rest.Forward(2, 6, null, hidden, input.Length, position, restCache);
            var next = Array.IndexOf(logits, logits.Max());
            Assert.Equal(reference.Greedy[step], next);
            position = sequence.Count;
            sequence.Add(next);
            input = [next];
        }
        Assert.Equal(sequence.Count - 1, firstCache.Length);
        Assert.Equal(restCache.Length * rest.CacheBytesPerToken, restCache.Bytes);

        // A step re-run from an earlier position (a replaced hop rebuilding) overwrites what was cached after it.
        var rebuilt = rest.Forward(2, 6, null, first.Forward(0, 2, [.. sequence[..10]], null, 10, 0, firstCache), 10, 0, restCache);
        Assert.Equal(reference.Greedy[5], Array.IndexOf(rebuilt, rebuilt.Max())); // prompt of 5 + 5 generated → the 6th
        Assert.Equal(10, restCache.Length);
        Assert.Throws<ArgumentException>(() => rest.Forward(2, 6, null, new float[checkpoint.Config.Width], 1, 11, restCache));
    }

    [Fact]
    public void Bad_folders_are_refused_naming_what_is_wrong()
    {
        var dir = Directory.CreateTempSubdirectory("regatta-hf-bad-").FullName;
        try
        {
            Assert.Contains("no config.json", Assert.Throws<ArgumentException>(() => HfCheckpoint.Open(dir)).Message);
            File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type":"bert"}""");
            Assert.Contains("model_type 'bert'", Assert.Throws<ArgumentException>(() => HfCheckpoint.Open(dir)).Message);
            File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type":"llama","vocab_size":10}""");
            Assert.Contains("hidden_size is required", Assert.Throws<ArgumentException>(() => HfCheckpoint.Open(dir)).Message);
            File.Copy(Path.Combine(checkpoints.Gpt2.Folder, "config.json"), Path.Combine(dir, "config.json"), overwrite: true);
            Assert.Contains("neither model.safetensors", Assert.Throws<ArgumentException>(() => HfCheckpoint.Open(dir)).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void The_tokenizer_round_trips_text_merges_and_special_tokens_and_builds_chat_prompts()
    {
        var gpt2 = HfTokenizer.Create(HfCheckpoint.Open(checkpoints.Gpt2.Folder).TokenizerFiles());
        var ids = gpt2.Encode("hello the world");
        // "hello" and " the" are single merged tokens; " world" is " w" + "or" + "l" + "d" merged as far as the merges go.
        Assert.Equal(["hello", " the", " wor", "l", "d"], ids.Select(i => gpt2.Decode([i])));
        Assert.Equal("hello the world", gpt2.Decode(ids));
        Assert.Equal([299], gpt2.EosIds);
        Assert.Equal(299, gpt2.Encode("hi<|endoftext|>")[^1]);
        Assert.Equal("hi", gpt2.Decode(gpt2.Encode("hi<|endoftext|>")));
        Assert.False(gpt2.HasChatTemplate);
        Assert.Throws<ArgumentException>(() => gpt2.ChatPrompt([("user", "hi")]));

        var llama = HfTokenizer.Create(HfCheckpoint.Open(checkpoints.Llama.Folder).TokenizerFiles());
        var chat = llama.ChatPrompt([("system", "be brief"), ("user", "hello")]);
        Assert.Equal("<|start_header_id|>system<|end_header_id|>\n\nbe brief<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", chat);
        var encoded = llama.Encode(chat);
        Assert.Equal(317, encoded[0]);
        Assert.Equal(3, encoded.Count(i => i == 317)); // system, user, assistant headers
        Assert.Equal([319], llama.EosIds);
    }
}
