using System.Diagnostics;

namespace Regatta.Benchmarks;

/// <summary>
/// The Stopwatch harness of this first cut: one warm-up run (JIT, tiering, page faults on fresh buffers),
/// then the best of <c>repeats</c> timed runs. Best-of rather than mean because the 2-core development
/// VM is shared and noisy; the minimum is the figure least disturbed by neighbours.
/// </summary>
public static class Measure
{
    public static TimeSpan BestOf(int repeats, Action run, Action? setup = null)
    {
        setup?.Invoke();
        run();
        var best = TimeSpan.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            setup?.Invoke();
            var sw = Stopwatch.StartNew();
            run();
            sw.Stop();
            if (sw.Elapsed < best) best = sw.Elapsed;
        }
        return best;
    }

    public static double GBps(long bytes, TimeSpan elapsed) => bytes / elapsed.TotalSeconds / 1e9;
}
