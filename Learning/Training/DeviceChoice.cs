using static TorchSharp.torch;

namespace Regatta.Learning.Training;

/// <summary>Turns a configured device name into a TorchSharp device.</summary>
public static class DeviceChoice
{
    /// <summary>"auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".</summary>
    public static Device Resolve(string? choice)
    {
        var name = string.IsNullOrWhiteSpace(choice) ? "auto" : choice.Trim().ToLowerInvariant();
        if (name == "auto") return cuda.is_available() ? CUDA : CPU;
        if (name == "cpu") return CPU;
        if (name == "cuda" || name.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new InvalidOperationException($"device '{choice}' requested but CUDA is not available (CPU-only libtorch, or no GPU visible)");
            var index = name == "cuda" ? 0 : int.TryParse(name[5..], out var i) ? i : -1;
            if (index < 0 || index >= cuda.device_count())
                throw new ArgumentException($"device '{choice}': no such CUDA device (found {cuda.device_count()})", nameof(choice));
            return new Device(TorchSharp.DeviceType.CUDA, index);
        }
        throw new ArgumentException($"device '{choice}': expected auto, cpu, cuda or cuda:N", nameof(choice));
    }
}
