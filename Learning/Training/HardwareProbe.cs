using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace Regatta.Learning.Training;

/// <summary>Facts a worker registers with: compute device, its memory, CPU cores and RAM.</summary>
public sealed record HardwareInfo(string DeviceKind, string DeviceName, long VramBytes, int CpuCores, long RamBytes);

public static class HardwareProbe
{
    /// <summary>Describes <paramref name="device"/> and the host. VRAM is 0 on the CPU or when it cannot be read.</summary>
    public static HardwareInfo Probe(Device device)
    {
        var cores = Environment.ProcessorCount;
        var ram = MemTotal() ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (device.type != TorchSharp.DeviceType.CUDA)
            return new HardwareInfo("cpu", CpuName() ?? "cpu", 0, cores, ram);
        // TorchSharp 0.107 exposes neither the GPU's name nor its memory, so ask the driver's tool.
        var (name, vram) = NvidiaSmi(device.index < 0 ? 0 : device.index) ?? ($"cuda:{Math.Max(0, (int)device.index)}", 0L);
        return new HardwareInfo("cuda", name, vram, cores, ram);
    }

    /// <summary>MemTotal from /proc/meminfo (Linux), in bytes.</summary>
    private static long? MemTotal()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var kib = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            return kib is not null && long.TryParse(kib, CultureInfo.InvariantCulture, out var value) ? value * 1024 : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static string? CpuName()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line?[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static (string Name, long VramBytes)? NvidiaSmi(long index)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits", $"--id={index}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null) return null;
            var output = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(5000))
            {
                process.Kill();
                return null;
            }
            if (process.ExitCode != 0) return null;
            var fields = output.GetAwaiter().GetResult().Trim().Split(',');
            return fields.Length == 2 && long.TryParse(fields[1].Trim(), CultureInfo.InvariantCulture, out var mib)
                ? (fields[0].Trim(), mib * 1024 * 1024)
                : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; } // not installed
    }
}
