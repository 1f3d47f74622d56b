using Regatta.Workers;

namespace Regatta.Grains.Workers;

/// <summary>What an agent may tell its worker: every field of a registration and a heartbeat is checked here.</summary>
public static class WorkerRules
{
    /// <summary>The first problem of a registration, naming its field; null when there is none.</summary>
    public static string? RegistrationProblems(WorkerRegistration r)
    {
        if (string.IsNullOrWhiteSpace(r.Name) || r.Name.Length > 100) return "name: must be 1 to 100 characters";
        var h = r.Hardware;
        if (h.DeviceKind is not ("cpu" or "cuda")) return "hardware.deviceKind: must be cpu or cuda";
        if (h.VramBytes < 0) return "hardware.vramBytes: must not be negative";
        if (h.CpuCores is < 1 or > 4096) return "hardware.cpuCores: must be in [1, 4096]";
        if (h.RamBytes < 0) return "hardware.ramBytes: must not be negative";
        if (h.Capabilities.Count > 64 || h.Capabilities.Any(c => c.Length is 0 or > 64)) return "hardware.capabilities: at most 64 names of 1 to 64 characters";
        if (h.DeviceName.Length > 200 || h.AgentVersion.Length > 50) return "hardware.deviceName/agentVersion: too long";
        if (h.ServeMemoryBytes is < 0) return "hardware.serveMemoryBytes: must not be negative";
        return null;
    }

    /// <summary>The first problem of a heartbeat, naming its field; null when there is none.</summary>
    public static string? HeartbeatProblems(Heartbeat heartbeat)
    {
        if (heartbeat.TokensServedSinceLast is < 0 or > WorkerLimits.MaxTokensPerHeartbeat)
            return $"tokensServedSinceLast must be in [0, {WorkerLimits.MaxTokensPerHeartbeat}]";
        if (heartbeat.Progress is { } p && (!double.IsFinite(p.Fraction) || p.Fraction is < 0 or > 1 || p.Message.Length > 500))
            return "progress.fraction must be in [0, 1] and progress.message at most 500 characters";
        if (heartbeat.Status == Liveness.Offline) return "a heartbeat cannot report Offline; unregister instead";
        return null;
    }
}
