using Orleans.Runtime;
using Regatta.Security;

namespace Regatta.WorkerAgent;

/// <summary>
/// This agent's worker credential: issued by the cluster at its first registration, kept in the cache folder (mode 0600)
/// so a restarted agent is still the same worker, and carried on every grain call it makes.
/// </summary>
public sealed class WorkerCredential(string workerId, string cacheDir)
{
    public const string FileName = "worker-credential";
    private string? _value = Read(System.IO.Path.Combine(cacheDir, FileName));

    public string WorkerId { get; } = workerId;
    public string Path { get; } = System.IO.Path.Combine(cacheDir, FileName);
    public bool Known => _value is not null;
    internal string? Value => _value;

    /// <summary>Keeps a credential the cluster just issued (written beside and moved, never readable by others).</summary>
    public void Store(string credential)
    {
        PrivateFile.WriteLine(Path, credential);
        _value = credential;
    }

    private static string? Read(string path) =>
        File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } text ? text : null;
}

/// <summary>
/// Puts the worker's id and credential on every call the agent makes (the silo's gate checks them). In a simulation one
/// client carries many workers: each virtual client's calls flow from code that set <see cref="Acting"/> to its own.
/// </summary>
public sealed class WorkerCredentialStamp(WorkerCredential credential) : IOutgoingGrainCallFilter
{
    /// <summary>The worker the calls of this async flow act for, when it is not the process's own.</summary>
    public static readonly AsyncLocal<WorkerCredential?> Acting = new();

    public Task Invoke(IOutgoingGrainCallContext context)
    {
        var acting = Acting.Value ?? credential;
        RequestContext.Set(CallIdentity.Worker, acting.WorkerId);
        if (acting.Value is { } value) RequestContext.Set(CallIdentity.Credential, value);
        return context.Invoke();
    }
}
