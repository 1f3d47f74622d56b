using System.Collections.Concurrent;
using System.Numerics;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Regatta.Grains.Aggregation;

/// <summary>Reduces the vectors of coordinates in [start, stop) (multiples of the vector width) into result.</summary>
internal delegate void ColumnKernel(float[][] updates, float[] result, int start, int stop);

/// <summary>
/// <see cref="LaneSort"/>'s network as straight-line code for one K: K locals the JIT keeps in vector registers, one
/// <c>vpminsd</c>/<c>vpmaxsd</c> pair per comparator and no loads or stores between them — about 3.5× faster than
/// walking the comparator list with the registers in memory (every comparator then costs two loads and two stores).
/// Emitted once per (K, ranks) as a <see cref="DynamicMethod"/>; the operations and their order are exactly those of
/// the interpreted path, so results are the same bit for bit.
/// </summary>
internal static class CompiledNetwork
{
    /// <summary>Largest K compiled: beyond the 16 vector registers of x64 the locals spill, and the code grows as K log² K.</summary>
    public const int MaxSize = 32;

    private static readonly ConcurrentDictionary<(int K, int Trim), ColumnKernel> Cache = new();

    /// <summary>The kernel for K updates (median when trim = −1), or null where it cannot be compiled and run natively.</summary>
    public static ColumnKernel? For(int k, int trim)
    {
        if (k > MaxSize || !RuntimeFeature.IsDynamicCodeCompiled) return null;
        return Cache.GetOrAdd((k, trim), key => Emit(key.K, key.Trim));
    }

    private static ColumnKernel Emit(int k, int trim)
    {
        var (first, end) = LaneSort.Ranks(k, trim);
        var network = SortingNetwork.ForRanks(k, first, end);
        var method = new DynamicMethod($"LaneSort{k}x{trim}", typeof(void),
            [typeof(float[][]), typeof(float[]), typeof(int), typeof(int)], typeof(CompiledNetwork).Module, skipVisibility: true);
        var il = method.GetILGenerator();
        var arrays = new LocalBuilder[k];
        var regs = new LocalBuilder[k];
        for (var i = 0; i < k; i++)
        {
            arrays[i] = il.DeclareLocal(typeof(float[]));
            regs[i] = il.DeclareLocal(typeof(Vector<int>));
        }
        var swap = il.DeclareLocal(typeof(Vector<int>));
        var c = il.DeclareLocal(typeof(int));
        var sum = il.DeclareLocal(typeof(TrimSum));

        for (var i = 0; i < k; i++)
        {
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldc_I4, i);
            il.Emit(OpCodes.Ldelem_Ref);
            il.Emit(OpCodes.Stloc, arrays[i]);
        }
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Stloc, c);
        var loop = il.DefineLabel();
        var test = il.DefineLabel();
        il.Emit(OpCodes.Br, test);
        il.MarkLabel(loop);

        for (var i = 0; i < k; i++)
        {
            il.Emit(OpCodes.Ldloc, arrays[i]);
            il.Emit(OpCodes.Ldloc, c);
            il.Emit(OpCodes.Call, Helper(nameof(Load)));
            il.Emit(OpCodes.Stloc, regs[i]);
        }
        for (var p = 0; p < network.Length; p += 2)
        {
            var (lo, hi) = (regs[network[p]], regs[network[p + 1]]);
            il.Emit(OpCodes.Ldloc, lo);
            il.Emit(OpCodes.Ldloc, hi);
            il.Emit(OpCodes.Call, Helper(nameof(Min)));
            il.Emit(OpCodes.Stloc, swap);
            il.Emit(OpCodes.Ldloc, lo);
            il.Emit(OpCodes.Ldloc, hi);
            il.Emit(OpCodes.Call, Helper(nameof(Max)));
            il.Emit(OpCodes.Stloc, hi);
            il.Emit(OpCodes.Ldloc, swap);
            il.Emit(OpCodes.Stloc, lo);
        }

        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldloc, c);
        if (trim < 0)
        {
            var half = k >> 1;
            if ((k & 1) == 1)
            {
                il.Emit(OpCodes.Ldloc, regs[half]);
                il.Emit(OpCodes.Call, Helper(nameof(StoreKey)));
            }
            else
            {
                il.Emit(OpCodes.Ldloc, regs[half - 1]);
                il.Emit(OpCodes.Ldloc, regs[half]);
                il.Emit(OpCodes.Call, Helper(nameof(StoreMidpoint)));
            }
        }
        else
        {
            il.Emit(OpCodes.Ldloca, sum);
            il.Emit(OpCodes.Initobj, typeof(TrimSum));
            for (var r = trim; r < k - trim; r++)
            {
                il.Emit(OpCodes.Ldloca, sum);
                il.Emit(OpCodes.Ldloc, regs[r]);
                il.Emit(OpCodes.Call, Helper(nameof(Accumulate)));
            }
            il.Emit(OpCodes.Ldloc, sum);
            il.Emit(OpCodes.Ldc_I4, k - 2 * trim);
            il.Emit(OpCodes.Call, Helper(nameof(StoreMean)));
        }

        il.Emit(OpCodes.Ldloc, c);
        il.Emit(OpCodes.Ldc_I4, Vector<int>.Count);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, c);
        il.MarkLabel(test);
        il.Emit(OpCodes.Ldloc, c);
        il.Emit(OpCodes.Ldarg_3);
        il.Emit(OpCodes.Blt, loop);
        il.Emit(OpCodes.Ret);
        return method.CreateDelegate<ColumnKernel>();
    }

    private static MethodInfo Helper(string name) =>
        typeof(CompiledNetwork).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)
        ?? throw new InvalidOperationException($"missing helper {name}");

    // The emitted code calls these; each is a few instructions and inlined.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<int> Load(float[] update, int c) =>
        LaneSort.ToKey(Vector.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(update), (nuint)c));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<int> Min(Vector<int> a, Vector<int> b) => Vector.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<int> Max(Vector<int> a, Vector<int> b) => Vector.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreKey(float[] result, int c, Vector<int> key) =>
        LaneSort.FromKey(key).StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(result), (nuint)c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreMidpoint(float[] result, int c, Vector<int> lower, Vector<int> upper) =>
        LaneSort.Midpoint(lower, upper).StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(result), (nuint)c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(ref TrimSum sum, Vector<int> key) => sum.Add(key);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreMean(float[] result, int c, TrimSum sum, int kept) =>
        sum.Mean(kept).StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(result), (nuint)c);
}
