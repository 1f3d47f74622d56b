using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace Regatta.Grains.Aggregation;

/// <summary>
/// Byzantine-robust aggregators. They need every update of the round at once (memory O(K × model)) and
/// treat updates as equals: example counts are not used, since a malicious client could claim any count.
/// Inputs are deltas of equal length with finite values; they are read, never modified.
/// </summary>
public static class RobustAggregation
{
    // A coordinate block is gathered into a K × B buffer of about this many floats (64 KiB, cache-resident).
    private const int GatherFloats = 16 * 1024;
    private const int MaxBlock = 4096;
    private const int MinBlock = 16;
    // Below this much work (coordinates × K, or coordinates × pairs) everything runs on the calling thread.
    private const long ParallelWork = 1 << 18;
    private const int DistanceBlock = 1024;

    /// <summary>Coordinate-wise median; for an even K, the mean of the two middle values.</summary>
    public static float[] CoordinateMedian(IReadOnlyList<float[]> updates)
    {
        Validate(updates);
        return Coordinatewise(updates, new MedianReducer(), trim: -1);
    }

    /// <summary>
    /// Coordinate-wise trimmed mean: per coordinate, drop the ⌊βK⌋ smallest and ⌊βK⌋ largest values and average
    /// the rest. β = 0 is the plain (unweighted) mean.
    /// </summary>
    /// <param name="trimFraction">β in [0, 0.5).</param>
    public static float[] TrimmedMean(IReadOnlyList<float[]> updates, double trimFraction)
    {
        if (!(trimFraction is >= 0 and < 0.5))
            throw new ArgumentOutOfRangeException(nameof(trimFraction), trimFraction, "trim fraction must be in [0, 0.5)");
        var k = Validate(updates);
        var trim = (int)Math.Floor(trimFraction * k);
        return Coordinatewise(updates, new TrimmedMeanReducer(trim), trim);
    }

    /// <summary>
    /// Krum (Blanchard et al., NeurIPS 2017): each update's score is the sum of squared L2 distances to its
    /// K − f − 2 nearest other updates; the update with the lowest score is chosen (ties: lowest index).
    /// Requires K ≥ 2f + 3.
    /// </summary>
    /// <returns>A copy of the chosen update and its index.</returns>
    public static AggregateResult Krum(IReadOnlyList<float[]> updates, int f)
    {
        var order = RankByKrumScore(KrumScores(updates, f));
        var best = order[0];
        return new AggregateResult((float[])updates[best].Clone(), [best]);
    }

    /// <summary>
    /// Multi-Krum: the unweighted mean of the <paramref name="m"/> updates with the lowest Krum scores
    /// (scores computed once, as in Blanchard et al.). Requires K ≥ 2f + 3 and 1 ≤ m ≤ K.
    /// </summary>
    /// <returns>The mean and the chosen indices, best-scored first.</returns>
    public static AggregateResult MultiKrum(IReadOnlyList<float[]> updates, int f, int m)
    {
        var scores = KrumScores(updates, f);
        if (m < 1 || m > updates.Count)
            throw new ArgumentOutOfRangeException(nameof(m), m, $"Multi-Krum must select between 1 and K = {updates.Count} updates");
        var selected = RankByKrumScore(scores)[..m];
        var mean = (float[])updates[selected[0]].Clone();
        for (var i = 1; i < m; i++)
            TensorPrimitives.Add(mean, updates[selected[i]], mean);
        TensorPrimitives.Divide(mean, (float)m, mean);
        return new AggregateResult(mean, selected);
    }

    /// <summary>Krum score of every update (sum of squared distances to its K − f − 2 nearest others).</summary>
    public static double[] KrumScores(IReadOnlyList<float[]> updates, int f)
    {
        var k = Validate(updates);
        if (f < 0)
            throw new ArgumentOutOfRangeException(nameof(f), f, "number of Byzantine clients f must not be negative");
        if (k < 2L * f + 3)
            throw new ArgumentException($"Krum with f = {f} Byzantine clients needs K >= 2f+3 = {2L * f + 3} updates, got {k}", nameof(updates));

        var distances = PairwiseSquaredDistances(updates);
        var nearest = k - f - 2;
        var scores = new double[k];
        var row = new double[k - 1];
        for (var i = 0; i < k; i++)
        {
            var c = 0;
            for (var j = 0; j < k; j++)
                if (j != i) row[c++] = distances[i, j];
            Array.Sort(row);
            double s = 0;
            for (var r = 0; r < nearest; r++) s += row[r];
            scores[i] = s;
        }
        return scores;
    }

    private static int[] RankByKrumScore(double[] scores)
    {
        var order = new int[scores.Length];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        // Stable by index on ties, so the choice is deterministic.
        Array.Sort(order, (a, b) => scores[a] != scores[b] ? scores[a].CompareTo(scores[b]) : a.CompareTo(b));
        return order;
    }

    private static double[,] PairwiseSquaredDistances(IReadOnlyList<float[]> updates)
    {
        var k = updates.Count;
        var pairs = new (int I, int J)[k * (k - 1) / 2];
        for (int i = 0, p = 0; i < k; i++)
            for (var j = i + 1; j < k; j++)
                pairs[p++] = (i, j);
        var d = new double[k, k];
        void Pair(int p)
        {
            var (i, j) = pairs[p];
            d[i, j] = d[j, i] = SquaredDistance(updates[i], updates[j]);
        }
        if ((long)updates[0].Length * pairs.Length >= ParallelWork && pairs.Length > 1)
            Parallel.For(0, pairs.Length, Pair);
        else
            for (var p = 0; p < pairs.Length; p++) Pair(p);
        return d;
    }

    /// <summary>‖a − b‖², float32 SIMD per block, double across blocks; exact in double if a block overflows float32.</summary>
    internal static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Span<float> diff = stackalloc float[DistanceBlock];
        double sum = 0;
        for (var i = 0; i < a.Length; i += DistanceBlock)
        {
            var n = Math.Min(DistanceBlock, a.Length - i);
            var t = diff[..n];
            TensorPrimitives.Subtract(a.Slice(i, n), b.Slice(i, n), t);
            var s = TensorPrimitives.SumOfSquares(t);
            if (float.IsFinite(s))
            {
                sum += s;
                continue;
            }
            for (var x = 0; x < n; x++)
            {
                var e = (double)a[i + x] - b[i + x];
                sum += e * e;
            }
        }
        return sum;
    }

    /// <summary>Checks the round's updates: at least one, same non-zero length, all finite (known for <see cref="FiniteUpdates"/>). Returns K.</summary>
    private static int Validate(IReadOnlyList<float[]> updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        if (updates.Count == 0) throw Guard.Empty(nameof(updates));
        var length = updates[0]?.Length ?? 0;
        for (var i = 0; i < updates.Count; i++)
        {
            var u = updates[i] ?? throw new ArgumentException($"update {i} is null", nameof(updates));
            if (u.Length == 0) throw new ArgumentException($"update {i} is empty", nameof(updates));
            if (u.Length != length)
                throw new ArgumentException($"update {i} has {u.Length} values but update 0 has {length}", nameof(updates));
            if (updates is not FiniteUpdates) Guard.Finite(u, $"update {i}", nameof(updates));
        }
        return updates.Count;
    }

    private interface ICoordinateReducer
    {
        /// <summary>Reduces one coordinate's K values (which it may reorder) to the aggregate value.</summary>
        float Reduce(Span<float> values);
    }

    private readonly struct MedianReducer : ICoordinateReducer
    {
        public float Reduce(Span<float> values)
        {
            var half = values.Length >> 1;
            var upper = QuickSelect.Select(values, half);
            if ((values.Length & 1) == 1) return upper;
            // Even K: everything before `half` is ≤ upper, so the lower middle value is their maximum.
            var lower = TensorPrimitives.Max(values[..half]);
            return lower * 0.5f + upper * 0.5f; // halves are exact, so the sum is the correctly rounded mean
        }
    }

    private readonly struct TrimmedMeanReducer(int trim) : ICoordinateReducer
    {
        public float Reduce(Span<float> values)
        {
            var k = values.Length;
            var kept = values;
            if (trim > 0)
            {
                // Rank `trim` into place (the `trim` smallest now sit before it), then, among the rest,
                // rank K − trim − 1 into place: values[trim .. K − trim) are exactly the middle ranks.
                QuickSelect.Select(values, trim);
                QuickSelect.Select(values[trim..], k - 2 * trim - 1);
                kept = values[trim..(k - trim)];
            }
            double sum = 0;
            foreach (var v in kept) sum += v;
            return (float)(sum / kept.Length);
        }
    }

    /// <summary>
    /// Runs <paramref name="reducer"/> on every coordinate (median when <paramref name="trim"/> is −1,
    /// otherwise trimmed mean). For K ≤ SortingNetwork.MaxSize (128) on SIMD hardware, coordinates go through a sorting network
    /// a vector of coordinates at a time (see <see cref="LaneSort"/>). Otherwise coordinates are processed in blocks: a
    /// block of each update is gathered, transposed, into a small coordinate-major buffer (each coordinate's
    /// K values contiguous), then reduced in place with quickselect. Blocks run in parallel when the work is large.
    /// </summary>
    private static float[] Coordinatewise<TReducer>(IReadOnlyList<float[]> updates, TReducer reducer, int trim)
        where TReducer : struct, ICoordinateReducer
    {
        var k = updates.Count;
        var length = updates[0].Length;
        // Every value is written below, so a recycled buffer (see RoundAggregator.Recycle) serves as well as a zeroed one.
        var result = SumBuffers.Rent(length);
        if (k == 1)
        {
            updates[0].CopyTo(result, 0);
            return result;
        }
        if (Vector.IsHardwareAccelerated && k <= SortingNetwork.MaxSize && length >= Vector<float>.Count)
        {
            var vectorEnd = LaneSort.Reduce(updates as float[][] ?? [.. updates], trim, result);
            if (vectorEnd == length) return result;
            // The last few coordinates (fewer than one vector) go through the scalar reducer.
            Span<float> column = stackalloc float[k];
            for (var j = vectorEnd; j < length; j++)
            {
                for (var i = 0; i < k; i++) column[i] = updates[i][j];
                result[j] = reducer.Reduce(column);
            }
            return result;
        }
        var block = Math.Clamp(GatherFloats / k, MinBlock, MaxBlock);
        var blocks = (length + block - 1) / block;
        var bufferLength = block * k;

        if ((long)length * k < ParallelWork || blocks == 1 || Environment.ProcessorCount == 1)
        {
            var buffer = ArrayPool<float>.Shared.Rent(bufferLength);
            try
            {
                for (var b = 0; b < blocks; b++) ReduceBlock(updates, b, block, buffer, result, reducer);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(buffer);
            }
        }
        else
        {
            Parallel.For(
                0, blocks,
                () => ArrayPool<float>.Shared.Rent(bufferLength),
                (b, _, buffer) =>
                {
                    ReduceBlock(updates, b, block, buffer, result, reducer);
                    return buffer;
                },
                buffer => ArrayPool<float>.Shared.Return(buffer));
        }
        return result;
    }

    private static void ReduceBlock<TReducer>(IReadOnlyList<float[]> updates, int blockIndex, int block, float[] buffer, float[] result, TReducer reducer)
        where TReducer : struct, ICoordinateReducer
    {
        var k = updates.Count;
        var start = blockIndex * block;
        var count = Math.Min(block, result.Length - start);
        var gathered = buffer.AsSpan(0, count * k);
        for (var i = 0; i < k; i++)
        {
            var source = updates[i].AsSpan(start, count);
            for (var j = 0; j < source.Length; j++) gathered[j * k + i] = source[j];
        }
        var destination = result.AsSpan(start, count);
        for (var j = 0; j < count; j++)
            destination[j] = reducer.Reduce(gathered.Slice(j * k, k));
    }
}
