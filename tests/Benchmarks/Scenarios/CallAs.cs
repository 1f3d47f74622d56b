using Regatta.Grains.Security;
using Regatta.Security;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Who the next call of a TLS load client claims to be, per async flow: one client hosts many simulated workers, so the
/// identity cannot be fixed per client as in an agent (<c>WorkerCredentialStamp</c>). Set it right before the call;
/// <see cref="CallAsStamp"/> puts it into the call's request context, which Orleans exports into the message.
/// </summary>
public sealed record CallAs(string? Worker, string? Credential, string? ClusterKey)
{
    private static readonly AsyncLocal<CallAs?> Flow = new();

    public static CallAs? Current
    {
        get => Flow.Value;
        set => Flow.Value = value;
    }

    /// <summary>An agent: its worker id and, once issued, its credential (what WorkerCredentialStamp sends).</summary>
    public static CallAs Agent(string worker, string? credential) => new(worker, credential, null);

    /// <summary>The cluster's own caller (an operator's REST call, a grain): the cluster key.</summary>
    public static CallAs Cluster { get; } = new(null, null, Regatta.Grains.Security.ClusterKey.ProcessKey.Value);
}

/// <summary>The outgoing filter of the TLS load clients: stamps <see cref="CallAs.Current"/>, as an agent's stamp does.</summary>
public sealed class CallAsStamp : IOutgoingGrainCallFilter
{
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        if (CallAs.Current is { } who)
        {
            if (who.Worker is { } worker) RequestContext.Set(CallIdentity.Worker, worker);
            if (who.Credential is { } credential) RequestContext.Set(CallIdentity.Credential, credential);
            if (who.ClusterKey is { } key) RequestContext.Set(CallIdentity.ClusterKey, key);
        }
        return context.Invoke();
    }
}
