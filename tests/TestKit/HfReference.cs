using System.Diagnostics;
using System.Text.Json;

namespace Regatta.Tests;

/// <summary>
/// A small random Hugging Face checkpoint written by <c>hf_reference.py</c> with Debian's python3-torch, and the
/// logits of that script's own PyTorch forward pass (the independent reference Regatta's blocks are checked against).
/// </summary>
public sealed record HfReference(string Folder, int[][] Prompts, float[][] Logits, int[] GreedyPrompt, int[] Greedy)
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Writes a "gpt2" or "llama" checkpoint into a new folder under <paramref name="parent"/>.</summary>
    public static HfReference Write(string family, string parent, int seed = 1)
    {
        var folder = Path.Combine(parent, $"{family}-{seed}");
        var script = Path.Combine(Repo.Root, "tests", "TestKit", "hf_reference.py");
        var start = new ProcessStartInfo(Python) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { script, family, folder, seed.ToString() }) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {Python}");
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{script} failed ({process.ExitCode}); python3-torch must be installed (.ci/run does): {errors.Result}");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "reference.json")));
        var root = json.RootElement;
        int[] Ints(JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetInt32())];
        return new HfReference(folder,
            [.. root.GetProperty("prompts").EnumerateArray().Select(Ints)],
            [.. root.GetProperty("logits").EnumerateArray().Select(l => l.EnumerateArray().Select(x => x.GetSingle()).ToArray())],
            Ints(root.GetProperty("greedy_prompt")),
            Ints(root.GetProperty("greedy")));
    }
}
