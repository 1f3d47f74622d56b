using Microsoft.Extensions.Logging;
using Regatta.Models;
using Regatta.Security;
using Regatta.Workers;

namespace Regatta.Grains.Security;

/// <summary>
/// The silo's gate for calls from outside the cluster. Orleans 10 names a call's source in
/// <see cref="IGrainCallContext.SourceId"/>: a client's id has a grain type starting "sys.client" (<c>GrainId.IsClient()</c>),
/// a grain's is its own id. But that id is written by the sender, and a gateway forwards it unchecked (Orleans'
/// GatewayInboundConnection sets the sending silo, not the sending grain), so a hostile client can claim any source.
/// Trust therefore comes from a secret: the cluster's own calls carry the <see cref="ClusterKey"/> (stamped by
/// <see cref="ClusterCallStamp"/> in every silo) and pass untouched. Every other call is an agent's: it may reach only
/// <see cref="IWorkerGrain"/> of the worker its credential belongs to, and the blob calls that worker's assignments
/// need (<see cref="IWorkerClusterGrain.MayAccessBlob"/>), plus the cluster manifest an Orleans client fetches when it
/// connects. Anything else is refused with a <see cref="RegattaException"/> naming what was refused.
/// </summary>
public sealed class AgentGate(ClusterKey key, WorkerCredentials credentials, IGrainFactory grains, ILogger<AgentGate> logger)
    : IIncomingGrainCallFilter
{
    // Orleans' own read-only protocol for connecting clients (internal types, so matched by name).
    private const string ClientManifest = "Orleans.Runtime.IClusterManifestSystemTarget";
    // A grain timer's tick passes through the filters too; its request object holds the timer itself and has no
    // serializer, so it is always local and never a message.
    private const string TimerTick = "Orleans.Runtime.IGrainTimerInvoker";

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (key.Matches(RequestContext.Get(CallIdentity.ClusterKey)) || context.InterfaceMethod?.DeclaringType?.FullName == TimerTick)
        {
            RequestContext.Remove(CallIdentity.Caller);
            await context.Invoke();
            return;
        }
        var method = context.InterfaceMethod;
        var iface = method?.DeclaringType;
        if (iface == typeof(IWorkerGrain)) await WorkerCall(context, method!.Name);
        else if (iface == typeof(IBlobGrain) && BlobAccessOf(method!.Name) is { } access) await BlobCall(context, access);
        else if (iface?.FullName == ClientManifest) await context.Invoke();
        else throw Refuse(context, "forbidden", $"{iface?.Name ?? "?"}.{method?.Name ?? context.MethodName} is not open to agents");
    }

    /// <summary>A worker's own surface: the credential must be that worker's; only a first registration may come without one.</summary>
    private async Task WorkerCall(IIncomingGrainCallContext context, string method)
    {
        var workerId = context.TargetId.Key.ToString()!;
        if (RequestContext.Get(CallIdentity.Credential) is string credential)
        {
            await Verify(context, workerId, credential);
            RequestContext.Set(CallIdentity.Caller, workerId);
        }
        else if (method == nameof(IWorkerGrain.Register)) RequestContext.Set(CallIdentity.Caller, "");
        else throw Refuse(context, "unauthenticated", $"{nameof(IWorkerGrain)}.{method} needs worker '{workerId}''s credential");
        await context.Invoke();
    }

    private async Task BlobCall(IIncomingGrainCallContext context, BlobAccess access)
    {
        if (RequestContext.Get(CallIdentity.Worker) is not string workerId || RequestContext.Get(CallIdentity.Credential) is not string credential)
            throw Refuse(context, "unauthenticated", "blob calls need a worker's id and credential");
        await Verify(context, workerId, credential);
        var hash = context.TargetId.Key.ToString()!;
        if (await grains.GetGrain<IWorkerClusterGrain>(workerId).MayAccessBlob(hash, access) is { } why)
            throw Refuse(context, "forbidden", Workers.BlobAccessRules.Refusal(workerId, hash, access, why));
        RequestContext.Set(CallIdentity.Caller, workerId);
        await context.Invoke();
    }

    private async Task Verify(IIncomingGrainCallContext context, string workerId, string credential)
    {
        if (!await credentials.VerifyAsync(workerId, credential))
            throw Refuse(context, "bad_credential", $"the credential presented is not worker '{workerId}''s");
    }

    private static BlobAccess? BlobAccessOf(string method) => method switch
    {
        nameof(IBlobGrain.ReadChunk) => BlobAccess.Read,
        nameof(IBlobGrain.WriteChunk) or nameof(IBlobGrain.GetMissingChunks) or nameof(IBlobGrain.Seal) => BlobAccess.Write,
        nameof(IBlobGrain.GetInfo) or nameof(IBlobGrain.GrantTicket) => BlobAccess.Either,
        _ => null, // CheckTicket is the silo's own
    };

    private RegattaException Refuse(IIncomingGrainCallContext context, string code, string message)
    {
        Telemetry.RegattaMetrics.CallRefused(code);
        logger.LogWarning("Refused a call from outside the cluster to {Target}.{Method}: {Code} ({Reason})",
            context.TargetId, context.MethodName, code, message);
        return new RegattaException(code, message);
    }
}
