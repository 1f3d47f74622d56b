using System.Globalization;

namespace Regatta.Dashboard.Views;

/// <summary>How numbers, sizes and times read on the dashboard.</summary>
public static class Format
{
    public static string Bytes(long bytes) => bytes switch
    {
        <= 0 => "—",
        < 1L << 20 => $"{bytes / 1024.0:0.#} KiB",
        < 1L << 30 => $"{bytes / (double)(1L << 20):0.#} MiB",
        _ => $"{bytes / (double)(1L << 30):0.#} GiB",
    };

    public static string Metric(double value, string format = "0.000") =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "—";

    public static string Percent(double value) => double.IsFinite(value) ? (value * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %" : "—";

    public static string Duration(TimeSpan span) => span switch
    {
        { TotalSeconds: < 0 } => "—",
        { TotalSeconds: < 1 } => $"{span.TotalMilliseconds:0} ms",
        { TotalMinutes: < 1 } => $"{span.TotalSeconds:0.0} s",
        { TotalHours: < 1 } => $"{(int)span.TotalMinutes} min {span.Seconds} s",
        _ => $"{(int)span.TotalHours} h {span.Minutes} min",
    };

    /// <summary>"12 s ago", "3 min ago"; "—" for a time never set.</summary>
    public static string Ago(DateTimeOffset at, DateTimeOffset now)
    {
        if (at == default) return "—";
        var span = now - at;
        return span.TotalSeconds switch
        {
            < 2 => "just now",
            < 60 => $"{(int)span.TotalSeconds} s ago",
            < 3600 => $"{(int)span.TotalMinutes} min ago",
            < 86400 => $"{(int)span.TotalHours} h ago",
            _ => at.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
        };
    }

    public static string Time(DateTimeOffset at) => at == default ? "—" : at.ToUniversalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);
    public static string DateTime(DateTimeOffset at) => at == default ? "—" : at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC";

    public static string ShortHash(string? hash) => string.IsNullOrEmpty(hash) ? "—" : hash.Length <= 12 ? hash : hash[..12];

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
