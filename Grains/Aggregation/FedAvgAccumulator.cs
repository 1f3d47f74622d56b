using System.Buffers;
using System.Numerics.Tensors;

namespace Regatta.Grains.Aggregation;

/// <summary>
/// Streaming weighted average of deltas (FedAvg; FedProx and FedAdam use the same server-side average).
/// Updates are folded into a running sum as they arrive — <c>sum += examples × delta</c> — so memory is two
/// model-sized float arrays (the committed sum and a scratch) however many clients report; no client's copy is
/// kept, and an update once added cannot be taken out (there is deliberately no Remove).
/// </summary>
/// <remarks>
/// <para>Kernel. A fold is one pass that reads the committed sum and every update of the batch once and writes the
/// new sum into the scratch buffer, block by block (<see cref="Block"/> floats, L1-sized): block b of the sum is
/// loaded, block b of each update is multiplied-added into it while it is in cache, and the finished block is
/// checked for finiteness. Only when every block is finite do the buffers swap, so a NaN or infinity anywhere
/// in an update (which always makes the new sum non-finite: w·NaN = NaN, w·∞ = ±∞, and ±∞ never turns finite
/// again) is refused with the committed sum bit-for-bit unchanged — without a separate read pass to check it.
/// <see cref="AddRange"/> folds several updates per pass, so the sum is read and written once per batch rather
/// than once per update; for large models the blocks are spread over the cores. The first fold of a round
/// writes the sum without reading it, so buffers need no zeroing; the scratch comes from <see cref="SumBuffers"/>.</para>
/// <para>Every coordinate sees the same operations in the same order (sum, then update 0, 1, ...) however the
/// updates are batched or the blocks are spread over threads, so the result does not depend on either.</para>
/// <para>Precision: the sum is float32. The relative rounding error of each coordinate grows at worst like K·2⁻²⁴
/// for K updates (typically √K·2⁻²⁴), i.e. below 10⁻⁴ even for a thousand clients — far under the noise of a
/// stochastic gradient step — while Kahan compensation would add two memory streams to this memory-bound loop
/// and a double accumulator would double the memory. The total weight is kept in double.</para>
/// </remarks>
public sealed class FedAvgAccumulator
{
    /// <summary>Floats per block: 16 KiB, so the sum block and an update block stay in L1 while the batch is folded.</summary>
    internal const int Block = 4096;
    /// <summary>Updates folded per pass over the sum; more streams than this confuse the hardware prefetchers.</summary>
    public const int MaxBatch = 16;
    // Floats per parallel work item (a run of blocks): 1 MiB of sum, large enough to amortise scheduling.
    private const int Chunk = 256 * 1024;
    // Below this many floats read per pass everything stays on the calling thread.
    private const long ParallelWork = 1L << 20;

    /// <summary>
    /// Cores a large fold may use; -1 (the default) for all. A silo that must keep cores free for serving can lower it.
    /// </summary>
    public static int MaxDegreeOfParallelism { get; set; } = -1;

    private float[]? _sum;     // committed sum; meaningful once Count > 0
    private float[]? _scratch; // where the next fold writes; swapped with _sum when the fold is accepted
    private bool _detached;

    public FedAvgAccumulator(int length)
    {
        Guard.ModelLength(length, nameof(length));
        Length = length;
    }

    public int Length { get; }

    /// <summary>Updates folded in so far.</summary>
    public int Count { get; private set; }

    /// <summary>Sum of the weights (example counts) folded in so far.</summary>
    public double TotalWeight { get; private set; }

    /// <summary>Bytes of model-sized buffers this accumulator holds now (sum and scratch).</summary>
    public long BytesHeld => ((_sum?.LongLength ?? 0) + (_scratch?.LongLength ?? 0)) * sizeof(float);

    /// <summary>Folds <paramref name="examples"/> × <paramref name="delta"/> into the running sum.</summary>
    /// <exception cref="ArgumentException">Wrong length, a weight that is not positive and finite, a non-finite value in the
    /// delta, or a delta that would overflow the sum; the sum is left untouched.</exception>
    public unsafe void Add(ReadOnlySpan<float> delta, double examples)
    {
        ThrowIfDetached();
        Guard.Length(delta.Length, Length, nameof(delta));
        Guard.Weight(examples, nameof(examples));
        fixed (float* p = delta)
        {
            Span<Input> one = [new Input(p, (float)examples)];
            if (!TryFold(one))
                throw new ArgumentException(Guard.IsFinite(delta)
                    ? "delta would overflow the running sum (float32)"
                    : "delta contains non-finite values (NaN or infinity)", nameof(delta));
        }
    }

    /// <summary>
    /// Folds several updates, up to <see cref="MaxBatch"/> per pass over the sum. An update with a non-finite value
    /// (or one that would overflow the sum) is refused and the others are folded, in order, exactly as if each had
    /// been <see cref="Add"/>ed on its own; the result of the round is bit-for-bit the same either way.
    /// </summary>
    /// <returns>Per update, null when it was folded, otherwise why it was refused.</returns>
    /// <exception cref="ArgumentException">An update of the wrong length or with a bad weight; then nothing is folded.</exception>
    public unsafe string?[] AddRange(ReadOnlySpan<WeightedDelta> updates)
    {
        ThrowIfDetached();
        for (var i = 0; i < updates.Length; i++)
        {
            Guard.Length(updates[i].Delta.Length, Length, $"updates[{i}]");
            Guard.Weight(updates[i].Examples, $"updates[{i}]");
        }
        var refused = new string?[updates.Length];
        var handles = new MemoryHandle[Math.Min(updates.Length, MaxBatch)];
        Span<Input> inputs = stackalloc Input[handles.Length];
        for (var start = 0; start < updates.Length; start += MaxBatch)
        {
            var n = Math.Min(MaxBatch, updates.Length - start);
            try
            {
                for (var j = 0; j < n; j++)
                {
                    handles[j] = updates[start + j].Delta.Pin();
                    inputs[j] = new Input((float*)handles[j].Pointer, (float)updates[start + j].Examples);
                }
                if (!TryFold(inputs[..n]))
                    FoldSlowly(inputs[..n], updates.Slice(start, n), refused.AsSpan(start, n));
            }
            finally
            {
                for (var j = 0; j < n; j++) handles[j].Dispose();
            }
        }
        return refused;
    }

    /// <summary>The weighted mean delta, Σ wᵢ·Δᵢ / Σ wᵢ, as a new array. The accumulator stays usable.</summary>
    /// <exception cref="ArgumentException">No update was added.</exception>
    public float[] Result()
    {
        var result = new float[Length];
        WriteResult(result);
        return result;
    }

    /// <summary>Writes the weighted mean delta into <paramref name="destination"/> (no allocation).</summary>
    public void WriteResult(Span<float> destination)
    {
        ThrowIfDetached();
        if (Count == 0) throw Guard.Empty(nameof(Count));
        Guard.Length(destination.Length, Length, nameof(destination));
        TensorPrimitives.Divide(_sum!, (float)TotalWeight, destination);
    }

    /// <summary>
    /// Turns the running sum into the mean in place and hands over that array; the scratch goes back to the pool
    /// for the next round, and the accumulator is finished.
    /// </summary>
    internal float[] DetachResult()
    {
        ThrowIfDetached();
        if (Count == 0) throw Guard.Empty(nameof(Count));
        var sum = _sum!;
        var divisor = (float)TotalWeight;
        ForEachChunk(Length, Length, (start, end) =>
            TensorPrimitives.Divide(sum.AsSpan(start, end - start), divisor, sum.AsSpan(start, end - start)));
        if (_scratch is { } scratch) SumBuffers.Return(scratch);
        (_sum, _scratch, _detached) = (null, null, true);
        return sum;
    }

    /// <summary>Drops the scratch buffers kept between rounds (for instance once the last run on a silo ended).</summary>
    public static void ReleasePooledBuffers() => SumBuffers.Clear();

    private readonly unsafe struct Input(float* data, float weight)
    {
        public readonly float* Data = data;
        public readonly float Weight = weight;
    }

    /// <summary>
    /// One pass: scratch = sum + Σ wⱼ·Δⱼ (or Σ wⱼ·Δⱼ for the round's first fold), then commit if every value is finite.
    /// False, with nothing committed, when some value is not.
    /// </summary>
    private unsafe bool TryFold(ReadOnlySpan<Input> inputs)
    {
        _scratch ??= SumBuffers.Rent(Length);
        var first = Count == 0;
        var (sum, scratch, length) = (_sum, _scratch, Length);
        var data = new nint[inputs.Length];
        var weights = new float[inputs.Length];
        for (var j = 0; j < inputs.Length; j++) (data[j], weights[j]) = ((nint)inputs[j].Data, inputs[j].Weight);
        var bad = 0;
        ForEachChunk(length, (long)length * (inputs.Length + 1), (start, end) =>
        {
            if (Volatile.Read(ref bad) != 0) return; // another chunk already failed: the pass is lost anyway
            if (!FoldChunk(first ? null : sum, scratch, data, weights, start, end)) Volatile.Write(ref bad, 1);
        });
        if (bad != 0) return false;
        (_sum, _scratch) = (scratch, sum); // the first fold leaves the scratch unset until the next one rents it
        Count += inputs.Length;
        foreach (var w in weights) TotalWeight += w; // the weights actually applied, so the mean divides by what was summed
        return true;
    }

    private static unsafe bool FoldChunk(float[]? sum, float[] scratch, nint[] data, float[] weights, int start, int end)
    {
        for (var b = start; b < end; b += Block)
        {
            var n = Math.Min(Block, end - b);
            var into = scratch.AsSpan(b, n);
            var u0 = new ReadOnlySpan<float>((float*)data[0] + b, n);
            if (sum is null) TensorPrimitives.Multiply(u0, weights[0], into);
            else TensorPrimitives.MultiplyAdd(u0, weights[0], sum.AsSpan(b, n), into);
            for (var j = 1; j < data.Length; j++)
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>((float*)data[j] + b, n), weights[j], into, into);
            // The block is in L1: checking it costs next to nothing, unlike a separate pass over the update.
            if (!TensorPrimitives.IsFiniteAll<float>(into)) return false;
        }
        return true;
    }

    /// <summary>A batch that failed as a whole: find the updates with non-finite values, refuse them, fold the rest
    /// one at a time (so that one that would overflow the sum is refused alone) — the rare path.</summary>
    private unsafe void FoldSlowly(ReadOnlySpan<Input> inputs, ReadOnlySpan<WeightedDelta> updates, Span<string?> refused)
    {
        for (var j = 0; j < inputs.Length; j++)
        {
            if (!Guard.IsFinite(updates[j].Delta.Span)) refused[j] = "delta contains non-finite values (NaN or infinity)";
            else if (!TryFold(inputs.Slice(j, 1))) refused[j] = "delta would overflow the running sum (float32)";
        }
    }

    /// <summary>Runs <paramref name="body"/> over [0, length) in chunks, on several cores when the pass reads enough.</summary>
    private static void ForEachChunk(int length, long floatsRead, Action<int, int> body)
    {
        var chunks = (length + Chunk - 1) / Chunk;
        var cores = MaxDegreeOfParallelism;
        if (chunks == 1 || floatsRead < ParallelWork || Environment.ProcessorCount == 1 || cores == 1)
        {
            body(0, length);
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = cores }, c =>
        {
            var start = c * Chunk;
            body(start, (int)Math.Min((long)start + Chunk, length));
        });
    }

    private void ThrowIfDetached()
    {
        if (_detached) throw new InvalidOperationException("this accumulator's result was already taken");
    }
}
