using System.Diagnostics;
using System.Globalization;

namespace Regatta.Benchmarks;

/// <summary>
/// How busy the machine was with other work while the benchmarks ran: the share of all cores' time that processes other
/// than this one used (from /proc/stat and this process's CPU time), and the load average at the start and the end.
/// On a shared box this says how far the figures were disturbed; null where /proc is not there.
/// </summary>
public sealed record MachineLoad(double? OthersShareOfCores, string? LoadAverageAtStart, string? LoadAverageAtEnd)
{
    public sealed class Probe
    {
        private readonly (long Busy, long Total)? _cpu = Cpu();
        private readonly TimeSpan _ours = Process.GetCurrentProcess().TotalProcessorTime;
        private readonly string? _load = LoadAverage();

        public MachineLoad Finish()
        {
            var ours = Process.GetCurrentProcess().TotalProcessorTime - _ours;
            double? others = null;
            if (_cpu is { } start && Cpu() is { } end && end.Total > start.Total)
            {
                // /proc/stat counts in USER_HZ (100 per second on Linux) summed over every core.
                var oursTicks = ours.TotalSeconds * 100;
                others = Math.Clamp((end.Busy - start.Busy - oursTicks) / (end.Total - start.Total), 0, 1);
            }
            return new MachineLoad(others, _load, LoadAverage());
        }
    }

    public override string ToString() =>
        (OthersShareOfCores is { } s ? string.Create(CultureInfo.InvariantCulture, $"other processes used {s:P0} of the cores' time") : "load of other processes unknown")
        + (LoadAverageAtStart is null ? "" : $"; load average {LoadAverageAtStart} at the start, {LoadAverageAtEnd} at the end");

    private static (long Busy, long Total)? Cpu()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var idle = fields[3] + (fields.Length > 4 ? fields[4] : 0); // idle + iowait
            var total = fields.Take(8).Sum(); // user nice system idle iowait irq softirq steal (guest is inside user)
            return (total - idle, total);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    private static string? LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
