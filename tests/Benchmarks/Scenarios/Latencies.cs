namespace Regatta.Benchmarks.Scenarios;

/// <summary>Call latencies in ms, summarised as percentiles (nearest rank).</summary>
public sealed class Latencies
{
    private readonly List<double> _ms = [];

    public void Add(double ms)
    {
        lock (_ms) _ms.Add(ms);
    }

    public int Count => _ms.Count;

    public double Percentile(double p)
    {
        lock (_ms)
        {
            if (_ms.Count == 0) return double.NaN;
            _ms.Sort();
            return _ms[Math.Clamp((int)Math.Ceiling(p / 100 * _ms.Count) - 1, 0, _ms.Count - 1)];
        }
    }
}
