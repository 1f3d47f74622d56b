namespace Regatta.Grains.Network;

/// <summary>Picks the next token from logits: greedy at temperature 0, else softmax sampling over the top k, from a seeded generator.</summary>
public sealed class TokenSampler(double temperature, int topK, long seed)
{
    private readonly Random _random = new(unchecked((int)(seed ^ (seed >> 32))));

    public int Next(ReadOnlySpan<float> logits)
    {
        if (logits.Length == 0) throw new ArgumentException("no logits", nameof(logits));
        if (temperature <= 0) return System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits);
        var k = topK <= 0 || topK > logits.Length ? logits.Length : topK;
        var order = Enumerable.Range(0, logits.Length).ToArray();
        var values = logits.ToArray();
        Array.Sort(values.Select(v => -v).ToArray(), order); // descending by logit
        var max = logits[order[0]];
        var weights = new double[k];
        var total = 0.0;
        for (var i = 0; i < k; i++) total += weights[i] = Math.Exp((logits[order[i]] - max) / temperature);
        var pick = _random.NextDouble() * total;
        for (var i = 0; i < k; i++)
            if ((pick -= weights[i]) <= 0) return order[i];
        return order[k - 1];
    }
}
