namespace Regatta.Security;

/// <summary>
/// The names under which a call's identity travels in the Orleans request context. An agent's outgoing filter puts its
/// worker id and credential there; the silos' own calls carry the cluster key; the silo's gate checks both and tells
/// the grain who called through <see cref="Caller"/>.
/// </summary>
public static class CallIdentity
{
    public const string Worker = "regatta.worker";
    public const string Credential = "regatta.credential";
    public const string ClusterKey = "regatta.cluster";
    /// <summary>Set by the gate only (any value a client sends is overwritten): the verified worker, "" for an agent without credential.</summary>
    public const string Caller = "regatta.caller";
}
