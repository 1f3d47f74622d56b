namespace Regatta.Learning;

/// <summary>
/// Independent, reproducible random streams from one run seed: each purpose ("partition", "validation", ...)
/// gets its own seed, so adding a consumer never shifts the numbers another one draws.
/// </summary>
public static class Seeds
{
    public static long Derive(long seed, string purpose)
    {
        // FNV-1a over the purpose (stable across processes, unlike string.GetHashCode), then splitmix64.
        var hash = 14695981039346656037UL;
        foreach (var c in purpose)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        var z = unchecked((ulong)seed + hash + 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (long)((z ^ (z >> 31)) & long.MaxValue);
    }

    /// <summary>A CPU generator for the given purpose; the caller disposes it.</summary>
    public static TorchSharp.torch.Generator Generator(long seed, string purpose) =>
        new((ulong)Derive(seed, purpose), TorchSharp.torch.CPU);
}
