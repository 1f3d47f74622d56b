using Regatta.Security;

namespace Regatta.Grains.Security;

/// <summary>Who made the call being served, as <see cref="AgentGate"/> established it.</summary>
public static class AgentCaller
{
    /// <summary>Null: the cluster itself (a grain, the REST API, the dashboard); "": an agent without a credential; else the verified worker id.</summary>
    public static string? Current => RequestContext.Get(CallIdentity.Caller) as string;
}
