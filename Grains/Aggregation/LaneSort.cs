using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Regatta.Grains.Aggregation;

/// <summary>
/// Coordinate-wise median and trimmed mean for K ≤ <see cref="SortingNetwork.MaxSize"/> on SIMD hardware, with no
/// transpose: register i holds <c>Vector&lt;float&gt;.Count</c> coordinates of update i, and a sorting network of
/// min/max pairs across the K registers sorts every lane at once, leaving register r with each lane's value of rank r.
/// Only the comparators that can reach the ranks used are run (<see cref="SortingNetwork.ForRanks"/>). For K ≤
/// <see cref="CompiledNetwork.MaxSize"/> the network runs as compiled straight-line code with the K vectors in registers;
/// otherwise this class walks the comparator list over registers kept on the stack, four vectors of coordinates side by
/// side (independent dependency chains, and each comparator's positions read once for all four).
/// </summary>
/// <remarks>
/// Values are compared as integer keys (<see cref="ToKey"/>): one <c>vpminsd</c>/<c>vpmaxsd</c> per comparator, where
/// <see cref="Vector.Min{T}(Vector{T}, Vector{T})"/> on floats is an IEEE 754-2019 minimum (NaN and signed-zero handling,
/// several instructions). For finite values the key order is that same order (−0 before +0), so the result is bit for bit
/// what a float network gives.
/// </remarks>
internal static class LaneSort
{
    // Coordinates per parallel work item; a multiple of Columns × any vector width.
    private const int Block = 8192;
    // Vectors of coordinates sorted side by side by the interpreted network.
    private const int Columns = 4;
    // Below this much work (coordinates × K) everything runs on the calling thread.
    private const long ParallelWork = 1 << 18;

    /// <summary>
    /// Writes the median (<paramref name="trim"/> = −1) or the mean of ranks trim..K−trim−1 (summed in double) of every
    /// coordinate below the last whole vector into <paramref name="result"/>. Returns the first coordinate not handled.
    /// </summary>
    /// <param name="compiled">Use <see cref="CompiledNetwork"/> where it can run (false: tests of the interpreted path).</param>
    public static int Reduce(float[][] updates, int trim, float[] result, bool compiled = true)
    {
        var k = updates.Length;
        var width = Vector<int>.Count;
        var vectorEnd = result.Length - result.Length % width;
        var blocks = (vectorEnd + Block - 1) / Block;
        if (compiled && CompiledNetwork.For(k, trim) is { } kernel)
        {
            Run(vectorEnd, k, blocks, b => kernel(updates, result, b * Block, Math.Min(vectorEnd, (b + 1) * Block)));
            return vectorEnd;
        }
        var (first, end) = Ranks(k, trim);
        var network = SortingNetwork.ForRanks(k, first, end);
        // Comparator positions as byte offsets of a rank's first column, so that each access is one addressing mode.
        var offsets = new nint[network.Length];
        for (var p = 0; p < network.Length; p++) offsets[p] = network[p] * Columns * Unsafe.SizeOf<Vector<int>>();

        void RunBlock(int b)
        {
            Span<Vector<int>> regs = stackalloc Vector<int>[Columns * k];
            var start = b * Block;
            var stop = Math.Min(vectorEnd, start + Block);
            var c = start;
            for (; c + Columns * width <= stop; c += Columns * width)
                Sort(updates, offsets, regs, c, Columns, trim, result);
            for (; c < stop; c += width)
                Sort(updates, offsets, regs, c, 1, trim, result);
        }

        Run(vectorEnd, k, blocks, RunBlock);
        return vectorEnd;
    }

    /// <summary>The ranks a reduction reads: the middle one or two for the median (trim = −1), else trim..K−trim−1.</summary>
    internal static (int First, int End) Ranks(int k, int trim) =>
        trim < 0 ? ((k - 1) >> 1, (k >> 1) + 1) : (trim, k - trim);

    private static void Run(int vectorEnd, int k, int blocks, Action<int> block)
    {
        if ((long)vectorEnd * k >= ParallelWork && blocks > 1 && Environment.ProcessorCount > 1)
            Parallel.For(0, blocks, block);
        else
            for (var b = 0; b < blocks; b++) block(b);
    }

    /// <summary>
    /// Sorts <paramref name="columns"/> (<see cref="Columns"/> or 1) adjacent vectors of coordinates from c on and stores
    /// their reduction. Rank i of column j lives at regs[i × Columns + j]; the comparator loop is unrolled over the
    /// columns, so each comparator's two offsets are read once for all of them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sort(float[][] updates, nint[] offsets, Span<Vector<int>> regs, int c, int columns, int trim, float[] result)
    {
        var k = updates.Length;
        var width = Vector<int>.Count;
        ref var a = ref MemoryMarshal.GetReference(regs);
        for (var i = 0; i < k; i++)
        {
            ref var u = ref MemoryMarshal.GetArrayDataReference(updates[i]);
            ref var rank = ref Unsafe.Add(ref a, i * Columns);
            for (var j = 0; j < columns; j++)
                Unsafe.Add(ref rank, j) = ToKey(Vector.LoadUnsafe(ref u, (nuint)(c + j * width)));
        }
        ref var pairs = ref MemoryMarshal.GetArrayDataReference(offsets);
        if (columns == Columns)
        {
            for (var p = 0; p < offsets.Length; p += 2)
            {
                ref var lo = ref Unsafe.AddByteOffset(ref a, Unsafe.Add(ref pairs, p));
                ref var hi = ref Unsafe.AddByteOffset(ref a, Unsafe.Add(ref pairs, p + 1));
                var (x0, y0) = (lo, hi);
                var (x1, y1) = (Unsafe.Add(ref lo, 1), Unsafe.Add(ref hi, 1));
                var (x2, y2) = (Unsafe.Add(ref lo, 2), Unsafe.Add(ref hi, 2));
                var (x3, y3) = (Unsafe.Add(ref lo, 3), Unsafe.Add(ref hi, 3));
                lo = Vector.Min(x0, y0);
                hi = Vector.Max(x0, y0);
                Unsafe.Add(ref lo, 1) = Vector.Min(x1, y1);
                Unsafe.Add(ref hi, 1) = Vector.Max(x1, y1);
                Unsafe.Add(ref lo, 2) = Vector.Min(x2, y2);
                Unsafe.Add(ref hi, 2) = Vector.Max(x2, y2);
                Unsafe.Add(ref lo, 3) = Vector.Min(x3, y3);
                Unsafe.Add(ref hi, 3) = Vector.Max(x3, y3);
            }
        }
        else
        {
            for (var p = 0; p < offsets.Length; p += 2)
            {
                ref var lo = ref Unsafe.AddByteOffset(ref a, Unsafe.Add(ref pairs, p));
                ref var hi = ref Unsafe.AddByteOffset(ref a, Unsafe.Add(ref pairs, p + 1));
                var (x, y) = (lo, hi);
                lo = Vector.Min(x, y);
                hi = Vector.Max(x, y);
            }
        }
        ref var into = ref MemoryMarshal.GetArrayDataReference(result);
        for (var j = 0; j < columns; j++)
            Store(ref Unsafe.Add(ref a, j), k, trim).StoreUnsafe(ref into, (nuint)(c + j * width));
    }

    /// <summary>The median (trim = −1) or trimmed mean of one column's sorted keys, rank r at ranks[r × Columns].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Store(ref Vector<int> ranks, int k, int trim)
    {
        if (trim < 0)
        {
            var half = k >> 1;
            var upper = Unsafe.Add(ref ranks, half * Columns);
            return (k & 1) == 1 ? FromKey(upper) : Midpoint(Unsafe.Add(ref ranks, (half - 1) * Columns), upper);
        }
        var sum = default(TrimSum);
        for (var r = trim; r < k - trim; r++) sum.Add(Unsafe.Add(ref ranks, r * Columns));
        return sum.Mean(k - 2 * trim);
    }

    /// <summary>The mean of the two middle values of an even K. Halves are exact, so the sum is the correctly rounded mean.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<float> Midpoint(Vector<int> lower, Vector<int> upper) => FromKey(lower) * 0.5f + FromKey(upper) * 0.5f;

    /// <summary>
    /// A float's bits as an int that orders like the float: non-negative floats already do; for negative ones the
    /// magnitude bits are flipped so that a larger magnitude gives a smaller int. −0 maps to −1, just below +0 (0).
    /// The map is its own inverse (the sign bit, which picks the mask, is unchanged).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<int> ToKey(Vector<float> value)
    {
        var bits = Vector.AsVectorInt32(value);
        return bits ^ (Vector.ShiftRightArithmetic(bits, 31) & new Vector<int>(int.MaxValue));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<float> FromKey(Vector<int> key) =>
        Vector.AsVectorSingle(key ^ (Vector.ShiftRightArithmetic(key, 31) & new Vector<int>(int.MaxValue)));
}

/// <summary>A trimmed mean's running sum of one vector of coordinates, in double (ranks added in ascending order).</summary>
internal struct TrimSum
{
    private Vector<double> _low;
    private Vector<double> _high;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(Vector<int> key)
    {
        Vector.Widen(LaneSort.FromKey(key), out var low, out var high);
        _low += low;
        _high += high;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Vector<float> Mean(int kept)
    {
        double n = kept;
        return Vector.Narrow(_low / n, _high / n);
    }
}
