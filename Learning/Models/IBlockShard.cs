using Regatta.Learning.Models.Hf;

namespace Regatta.Learning.Models;

/// <summary>The blocks [Start, End) of a served model that one worker holds (plus the embeddings at block 0 and the head at the last block).</summary>
public interface IBlockShard : IDisposable
{
    int Start { get; }
    int End { get; }
    /// <summary>Blocks in the whole model.</summary>
    int Blocks { get; }
    long ParameterCount { get; }
    /// <summary>Bytes the shard's blocks cache per token of a session; 0 when it keeps no cache.</summary>
    long CacheBytesPerToken { get; }

    /// <summary>
    /// Runs blocks [from, to) on token ids (when from is 0) or hidden states [time, width] of positions
    /// [position, position + time); returns hidden states [time, width], or, at the last block, the next-token logits
    /// of the last position [vocab], both float32. With a cache the earlier positions come from it; without one
    /// position must be 0 (the whole sequence).
    /// </summary>
    float[] Forward(int from, int to, int[]? tokens, float[]? hidden, int time, int position = 0, KvCache? cache = null);

    /// <summary>An empty cache for one session; null when the shard keeps none.</summary>
    KvCache? NewCache();
}
