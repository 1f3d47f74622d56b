namespace Regatta.Grains.Aggregation;

/// <summary>In-place selection on small spans of finite floats (one coordinate across K updates).</summary>
internal static class QuickSelect
{
    private const int SortBelow = 16;

    /// <summary>
    /// Rearranges <paramref name="values"/> so that <c>values[nth]</c> is the value of rank <paramref name="nth"/>
    /// (0-based), everything before it is ≤ it and everything after it is ≥ it; returns that value. O(K) expected.
    /// Values must not be NaN.
    /// </summary>
    public static float Select(Span<float> values, int nth)
    {
        if ((uint)nth >= (uint)values.Length)
            throw new ArgumentOutOfRangeException(nameof(nth), nth, $"rank must be in [0, {values.Length})");
        int lo = 0, hi = values.Length - 1;
        while (hi - lo >= SortBelow)
        {
            // Median of three as pivot; it also bounds both scans below.
            var mid = lo + ((hi - lo) >> 1);
            if (values[mid] < values[lo]) Swap(values, lo, mid);
            if (values[hi] < values[lo]) Swap(values, lo, hi);
            if (values[hi] < values[mid]) Swap(values, mid, hi);
            var pivot = values[mid];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] < pivot) i++;
                while (values[j] > pivot) j--;
                if (i <= j)
                {
                    Swap(values, i, j);
                    i++;
                    j--;
                }
            }
            // Now [lo..j] ≤ pivot, [i..hi] ≥ pivot, and anything strictly between j and i equals pivot.
            if (nth <= j) hi = j;
            else if (nth >= i) lo = i;
            else return values[nth];
        }
        InsertionSort(values.Slice(lo, hi - lo + 1));
        return values[nth];
    }

    /// <summary>Insertion sort: for the few values left, cheaper than a call into the general sort.</summary>
    public static void InsertionSort(Span<float> values)
    {
        for (var i = 1; i < values.Length; i++)
        {
            var v = values[i];
            var j = i - 1;
            while (j >= 0 && values[j] > v)
            {
                values[j + 1] = values[j];
                j--;
            }
            values[j + 1] = v;
        }
    }

    private static void Swap(Span<float> values, int a, int b) => (values[a], values[b]) = (values[b], values[a]);
}
