using System.Diagnostics;
using System.Globalization;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Flower's FedAvg as Flower computes it (flwr.server.strategy.aggregate.aggregate): multiply every client's
/// arrays by its example count, reduce(np.add) over clients, divide by the total — run in the system
/// python3 with Debian's python3-numpy. Never installs anything: without numpy the baseline is reported
/// missing. Every client has its own arrays, as in <see cref="Updates"/>.
/// </summary>
public sealed class NumpyFedAvg
{
    private const string Script = """
        import sys, time
        from functools import reduce
        import numpy as np
        k, p, repeats = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
        rng = np.random.default_rng(42)
        results = [([(rng.random(p, dtype=np.float32) * 0.02) - 0.01], 100 + 37 * (i % 11)) for i in range(k)]
        def aggregate(results):
            num_examples_total = sum(n for (_, n) in results)
            weighted_weights = [[layer * n for layer in weights] for weights, n in results]
            return [reduce(np.add, layer_updates) / num_examples_total for layer_updates in zip(*weighted_weights)]
        aggregate(results)
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter(); aggregate(results); best = min(best, time.perf_counter() - t)
        print(k * p * 4 / best / 1e9)
        """;

    private readonly string? _missing;

    public NumpyFedAvg() => _missing = Probe();

    public (double? GBps, string? Note) Measure(int k, int p, int repeats)
    {
        if (_missing is not null) return (null, _missing);
        var (code, output, error) = RunPython(["-c", Script, k.ToString(CultureInfo.InvariantCulture), p.ToString(CultureInfo.InvariantCulture), repeats.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromMinutes(5));
        if (code == 0 && double.TryParse(output.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var gbps))
            return (gbps, null);
        return (null, $"numpy baseline failed (exit {code}): {Last(error)}");
    }

    private static string? Probe()
    {
        try
        {
            var (code, _, error) = RunPython(["-c", "import numpy"], TimeSpan.FromSeconds(30));
            return code == 0 ? null : $"numpy not installed (python3 -c \"import numpy\" failed: {Last(error)}); apt-get install python3-numpy";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "python3 not found; apt-get install python3-numpy";
        }
    }

    private static (int Code, string Output, string Error) RunPython(IEnumerable<string> args, TimeSpan timeout)
    {
        // Debian's interpreter, where python3-numpy installs; a python3 earlier on PATH (pyenv, venv) may lack it.
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start python3");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, "", $"timed out after {timeout}");
        }
        return (process.ExitCode, output.Result, error.Result);
    }

    private static string Last(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
}
