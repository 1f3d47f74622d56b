using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Regatta.Grains.Aggregation;

/// <summary>
/// Streaming weighted average of deltas (FedAvg; FedProx and FedAdam use the same server-side average).
/// Updates are folded into a running sum as they arrive — <c>sum += examples × delta</c> — so memory is two
/// model-sized float arrays (the committed sum and a scratch) however many clients report; no client's copy is
/// kept, and an update once added cannot be taken out (there is deliberately no Remove).
/// </summary>
/// <remarks>
/// <para>Kernel. A fold is one pass that reads the committed sum and every update of the batch once and writes the
/// new sum into the scratch buffer. Per vector of coordinates the sum and each update's values are loaded once and
/// multiplied-added in registers (the batch's K + 1 input streams are read side by side, which keeps more memory
/// requests in flight than reading one stream at a time), the finished values are checked for finiteness and written
/// once — with non-temporal stores for models beyond L2, so the scratch, about to be overwritten, is never read in for
/// ownership. Only when every value is finite do the buffers swap, so a NaN or infinity anywhere
/// in an update (which always makes the new sum non-finite: w·NaN = NaN, w·∞ = ±∞, and ±∞ never turns finite
/// again) is refused with the committed sum bit-for-bit unchanged — without a separate read pass to check it.
/// <see cref="AddRange"/> folds several updates per pass, so the sum is read and written once per batch rather
/// than once per update; for large models the blocks are spread over the cores. The first fold of a round
/// writes the sum without reading it, so buffers need no zeroing; the scratch comes from <see cref="SumBuffers"/>.
/// When that first fold is also the last pass of its call (a round handed over in one <see cref="AddRange"/>), the
/// total weight is known, so it also writes the mean (each block of the new sum divided while in L1) into a second buffer:
/// a <see cref="DetachResult"/> that follows hands that over instead of a divide pass (a read and a write of the model);
/// a later fold just takes the buffer as its scratch. The mean is the same division of the same sum, bit for bit.</para>
/// <para>Every coordinate sees the same operations in the same order (sum, then update 0, 1, ...) however the
/// updates are batched or the blocks are spread over threads, so the result does not depend on either.</para>
/// <para>Precision: the sum is float32. The relative rounding error of each coordinate grows at worst like K·2⁻²⁴
/// for K updates (typically √K·2⁻²⁴), i.e. below 10⁻⁴ even for a thousand clients — far under the noise of a
/// stochastic gradient step — while Kahan compensation would add two memory streams to this memory-bound loop
/// and a double accumulator would double the memory. The total weight is kept in double.</para>
/// </remarks>
public sealed class FedAvgAccumulator
{
    /// <summary>Floats per block: 16 KiB, the unit of the finite check and of the mean's copy kept in L1.</summary>
    internal const int Block = 4096;
    /// <summary>Updates folded per pass over the sum; more streams than this outrun the hardware prefetchers.</summary>
    public const int MaxBatch = 16;
    // Floats per parallel work item (a run of blocks): 1 MiB of sum, large enough to amortise scheduling.
    private const int Chunk = 256 * 1024;
    // Below this many floats read per pass everything stays on the calling thread.
    private const long ParallelWork = 1L << 20;
    // Models at least this long (1 MiB, beyond a core's L2) are written with non-temporal stores; smaller ones stay in
    // cache, where the next pass or the divide finds them.
    internal const int NonTemporalLength = Chunk;

    /// <summary>
    /// Cores a large fold may use; -1 (the default) for all. A silo that must keep cores free for serving can lower it.
    /// </summary>
    public static int MaxDegreeOfParallelism { get; set; } = -1;

    private float[]? _sum;     // committed sum; meaningful once Count > 0
    private float[]? _scratch; // where the next fold writes; swapped with _sum when the fold is accepted
    private float[]? _mean;    // _sum / TotalWeight as the last fold wrote it, or null; dropped by the next fold
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
    public long BytesHeld => ((_sum?.LongLength ?? 0) + (_scratch?.LongLength ?? 0) + (_mean?.LongLength ?? 0)) * sizeof(float);

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
            if (!TryFold(one, last: true))
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
                if (!TryFold(inputs[..n], last: start + n == updates.Length))
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
    /// Hands over the mean: the one the last fold wrote if it did, else the running sum divided in place; the other
    /// buffers go back to the pool for the next round, and the accumulator is finished.
    /// </summary>
    internal float[] DetachResult()
    {
        ThrowIfDetached();
        if (Count == 0) throw Guard.Empty(nameof(Count));
        var sum = _sum!;
        if (_mean is { } mean)
        {
            SumBuffers.Return(sum);
            sum = mean;
        }
        else
        {
            var divisor = (float)TotalWeight;
            ForEachChunk(Length, Length, (start, end) =>
                TensorPrimitives.Divide(sum.AsSpan(start, end - start), divisor, sum.AsSpan(start, end - start)));
        }
        if (_scratch is { } scratch) SumBuffers.Return(scratch);
        (_sum, _scratch, _mean, _detached) = (null, null, null, true);
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
    /// False, with nothing committed, when some value is not. <paramref name="last"/>: no further pass of this call follows.
    /// </summary>
    private unsafe bool TryFold(ReadOnlySpan<Input> inputs, bool last)
    {
        var first = Count == 0;
        if (!first && _mean is { } stale)
        {
            // The sum is about to change: the mean becomes this fold's scratch.
            _scratch ??= stale;
            if (_scratch != stale) SumBuffers.Return(stale);
            _mean = null;
        }
        _scratch ??= SumBuffers.Rent(Length);
        var (sum, scratch, length) = (_sum, _scratch, Length);
        var data = new nint[inputs.Length];
        var weights = new float[inputs.Length];
        for (var j = 0; j < inputs.Length; j++) (data[j], weights[j]) = ((nint)inputs[j].Data, inputs[j].Weight);
        // The total after this fold, summed as the commit below sums it, so the mean divides by what Finish would.
        var total = TotalWeight;
        foreach (var w in weights) total += w;
        var mean = first && last ? SumBuffers.Rent(length) : null;
        var divisor = (float)total;
        var bad = 0;
        ForEachChunk(length, (long)length * (inputs.Length + 1), (start, end) =>
        {
            if (Volatile.Read(ref bad) != 0) return; // another chunk already failed: the pass is lost anyway
            var ok = !Vector256.IsHardwareAccelerated
                ? FoldChunk(first ? null : sum, scratch, mean, divisor, data, weights, start, end)
                : FoldChunkVector(first ? null : sum, scratch, mean, divisor, data, weights, start, end);
            if (!ok) Volatile.Write(ref bad, 1);
        });
        if (bad != 0)
        {
            if (mean is not null) SumBuffers.Return(mean);
            return false;
        }
        (_sum, _scratch, _mean) = (scratch, sum, mean); // the first fold leaves the scratch unset until the next one takes one
        Count += inputs.Length;
        TotalWeight = total; // the weights actually applied, so the mean divides by what was summed
        return true;
    }

    /// <summary>The fold where 256-bit vectors are not accelerated: block by block with <see cref="TensorPrimitives"/>.</summary>
    private static unsafe bool FoldChunk(float[]? sum, float[] scratch, float[]? mean, float divisor, nint[] data, float[] weights, int start, int end)
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
            if (mean is not null) TensorPrimitives.Divide(into, divisor, mean.AsSpan(b, n));
        }
        return true;
    }

    /// <summary>
    /// The fold with each coordinate's whole batch in registers: per vector of coordinates, the sum (if any) and each
    /// update's values are loaded once, multiplied and added in the same order and with the same (unfused) operations as
    /// the <see cref="TensorPrimitives"/> path, so the result is bit for bit the same; nothing is written before it is final.
    /// </summary>
    [SkipLocalsInit] // the mean's block is written before it is read
    private static unsafe bool FoldChunkVector(float[]? sum, float[] scratch, float[]? mean, float divisor, nint[] data, float[] weights, int start, int end)
    {
        var k = data.Length;
        nint* pointers = stackalloc nint[k];
        var u = (float**)pointers;
        var w = stackalloc Vector256<float>[k];
        for (var j = 0; j < k; j++)
        {
            u[j] = (float*)data[j];
            w[j] = Vector256.Create(weights[j]);
        }
        var raw = stackalloc float[mean is null ? 0 : Block + 16];
        var block = mean is null ? null : (float*)(((nint)raw + 63) & ~(nint)63);
        var streaming = scratch.Length >= NonTemporalLength;
        var exponent = Vector256.Create(0x7F800000u).AsSingle();
        fixed (float* s = sum)
        fixed (float* to = scratch)
        fixed (float* toMean = mean)
        {
            for (var b = start; b < end; b += Block)
            {
                var n = Math.Min(Block, end - b);
                var into = to + b;
                var i = streaming ? Head(into, n) : 0;
                var finite = true;
                for (var x = 0; x < i; x++) finite &= Scalar(s, u, weights, k, b + x, into + x, block == null ? null : block + x);
                var bad = Vector256<float>.Zero;
                for (; i <= n - 16; i += 16)
                {
                    var c = b + i;
                    Vector256<float> a0, a1;
                    if (s is null)
                    {
                        a0 = Vector256.Load(u[0] + c) * w[0];
                        a1 = Vector256.Load(u[0] + c + 8) * w[0];
                    }
                    else
                    {
                        a0 = Vector256.Load(u[0] + c) * w[0] + Vector256.Load(s + c);
                        a1 = Vector256.Load(u[0] + c + 8) * w[0] + Vector256.Load(s + c + 8);
                    }
                    for (var j = 1; j < k; j++)
                    {
                        a0 = Vector256.Load(u[j] + c) * w[j] + a0;
                        a1 = Vector256.Load(u[j] + c + 8) * w[j] + a1;
                    }
                    // Non-finite iff every exponent bit is set.
                    bad |= Vector256.Equals(a0 & exponent, exponent) | Vector256.Equals(a1 & exponent, exponent);
                    if (streaming)
                    {
                        Vector256.StoreAlignedNonTemporal(a0, into + i);
                        Vector256.StoreAlignedNonTemporal(a1, into + i + 8);
                    }
                    else
                    {
                        a0.Store(into + i);
                        a1.Store(into + i + 8);
                    }
                    if (toMean is not null)
                    {
                        a0.Store(block + i);
                        a1.Store(block + i + 8);
                    }
                }
                for (; i < n; i++) finite &= Scalar(s, u, weights, k, b + i, into + i, block == null ? null : block + i);
                if (!finite || bad != Vector256<float>.Zero) return false;
                if (toMean is not null) StoreDivided(block, divisor, toMean + b, n, streaming);
            }
        }
        // Non-temporal stores are weakly ordered: make them visible before the pass is reported done.
        if (streaming && Sse.IsSupported) Sse.StoreFence();
        return true;
    }

    // One coordinate of FoldChunkVector (the ends of a block); the block copy is only read when the mean is written.
    private static unsafe bool Scalar(float* s, float** u, float[] weights, int k, int c, float* into, float* copy)
    {
        var a = s is null ? u[0][c] * weights[0] : u[0][c] * weights[0] + s[c];
        for (var j = 1; j < k; j++) a = u[j][c] * weights[j] + a;
        *into = a;
        if (copy != null) *copy = a;
        return float.IsFinite(a);
    }

    /// <summary>Writes <paramref name="from"/> / <paramref name="divisor"/> (IEEE division, as <see cref="TensorPrimitives.Divide(ReadOnlySpan{float}, float, Span{float})"/>).</summary>
    internal static unsafe void StoreDivided(float* from, float divisor, float* to, int n, bool streaming)
    {
        if (!streaming || !Vector256.IsHardwareAccelerated)
        {
            TensorPrimitives.Divide(new ReadOnlySpan<float>(from, n), divisor, new Span<float>(to, n));
            return;
        }
        var d = Vector256.Create(divisor);
        var i = Head(to, n);
        for (var x = 0; x < i; x++) to[x] = from[x] / divisor;
        for (; i <= n - 16; i += 16)
        {
            Vector256.StoreAlignedNonTemporal(Vector256.Load(from + i) / d, to + i);
            Vector256.StoreAlignedNonTemporal(Vector256.Load(from + i + 8) / d, to + i + 8);
        }
        for (; i < n; i++) to[i] = from[i] / divisor;
    }

    // Floats before to + i is on a cache-line boundary (whole lines go out at once), at most n.
    private static unsafe int Head(float* to, int n) => Math.Min(n, (int)((64 - ((nint)to & 63)) & 63) / sizeof(float));

    /// <summary>A batch that failed as a whole: find the updates with non-finite values, refuse them, fold the rest
    /// one at a time (so that one that would overflow the sum is refused alone) — the rare path.</summary>
    private unsafe void FoldSlowly(ReadOnlySpan<Input> inputs, ReadOnlySpan<WeightedDelta> updates, Span<string?> refused)
    {
        for (var j = 0; j < inputs.Length; j++)
        {
            if (!Guard.IsFinite(updates[j].Delta.Span)) refused[j] = "delta contains non-finite values (NaN or infinity)";
            else if (!TryFold(inputs.Slice(j, 1), last: false)) refused[j] = "delta would overflow the running sum (float32)";
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
