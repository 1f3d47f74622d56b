namespace Regatta.Silo.Api;

/// <summary>Limits of the REST API, bound from configuration section "Regatta:Api".</summary>
public sealed class ApiOptions
{
    public const string Section = "Regatta:Api";

    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public int MaxBodyBytes { get; set; } = 1 << 20;
    /// <summary>Worker registrations, and user registrations, allowed per remote IP address per minute (each counted apart).</summary>
    public int RegisterPermitsPerMinute { get; set; } = 20;
    /// <summary>Tokens (prompt + requested new tokens) one user may ask of the network per minute; the admin key is not limited.</summary>
    public int UserTokensPerMinute { get; set; } = 100_000;
    /// <summary>Heartbeats allowed per worker id per minute (agents beat every few seconds).</summary>
    public int HeartbeatPermitsPerMinute { get; set; } = 60;
    /// <summary>Reads of GET /api/cluster/gateways allowed per remote IP address per minute (an agent reads it every 30 s).</summary>
    public int GatewaysPermitsPerMinute { get; set; } = 120;
}
