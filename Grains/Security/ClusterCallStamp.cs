using Regatta.Security;

namespace Regatta.Grains.Security;

/// <summary>
/// Stamps every call the cluster makes (grains, the REST API, the dashboard: everything in a silo's process) with the
/// cluster key, and strips it from calls to clients (agents' observers), so that no client ever sees it. Also used by
/// trusted in-process clients (tests, benchmarks) that stand for the cluster.
/// </summary>
public sealed class ClusterCallStamp(ClusterKey key) : IOutgoingGrainCallFilter
{
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        // Request context changes here stay in this call's own async flow: the caller's context is not touched.
        if (context.TargetId.IsClient())
        {
            RequestContext.Remove(CallIdentity.ClusterKey);
            RequestContext.Remove(CallIdentity.Caller);
        }
        else RequestContext.Set(CallIdentity.ClusterKey, key.Value);
        return context.Invoke();
    }
}
