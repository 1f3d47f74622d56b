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
        if (heartbeat.Reported is { } word && ReportedStatusProblem(word) is { } problem) return $"status: {problem}";
        return null;
    }

    /// <summary>
    /// The status word a heartbeat records: the worker's own word when it sent one, else its liveness in lower case
    /// (constant strings: this runs for every heartbeat).
    /// </summary>
    public static string ReportedWord(Heartbeat heartbeat) => heartbeat.Reported ?? heartbeat.Status switch
    {
        Liveness.Online => "online",
        Liveness.Busy => "busy",
        Liveness.Standby => "standby",
        Liveness.Offline => "offline",
        var other => other.ToString().ToLowerInvariant(),
    };

    /// <summary>Longest status word a worker may report about itself.</summary>
    public const int MaxReportedStatusLength = 32;

    /// <summary>
    /// The statuses the volunteer network's coordinator hands out; its worker apps send back the one they were given.
    /// Any word is accepted (a worker's vocabulary is its own); these are the ones with a meaning here.
    /// </summary>
    public static readonly IReadOnlyList<string> KnownStatuses = ["pending", "approved", "standby", "serving", "online", "busy", "idle", "offline"];

    /// <summary>Null when <paramref name="word"/> can be recorded as a worker's self-reported status.</summary>
    public static string? ReportedStatusProblem(string word) =>
        word.Trim().Length is 0 or > MaxReportedStatusLength || word.Any(char.IsControl)
            ? $"must be a word of 1 to {MaxReportedStatusLength} characters (for example {string.Join(", ", KnownStatuses)})"
            : null;

    /// <summary>
    /// What a heartbeat with a self-reported status means for liveness: a worker that heartbeats is alive whatever it
    /// calls itself; busy is busy, and a worker saying it is idle, on standby or offline takes no new work.
    /// </summary>
    public static Heartbeat Reported(string? word, long tokensServedSinceLast)
    {
        var normalized = word?.Trim().ToLowerInvariant();
        var liveness = normalized switch
        {
            "busy" => Liveness.Busy,
            "standby" or "idle" or "offline" => Liveness.Standby,
            _ => Liveness.Online,
        };
        return new Heartbeat { Status = liveness, Reported = normalized, TokensServedSinceLast = tokensServedSinceLast };
    }
}
