namespace Regatta.WorkerAgent;

/// <summary>What the agent was told on its command line.</summary>
public sealed record AgentOptions
{
    /// <summary>Static gateways, <c>host:port[,host:port...]</c> (--coordinator); unused when <see cref="GatewaysUrl"/> is set.</summary>
    public required string Coordinator { get; init; }
    /// <summary>Silo URL(s) whose GET /api/cluster/gateways lists the live gateways (--gateways-url), or null for <see cref="Coordinator"/>.</summary>
    public string? GatewaysUrl { get; init; }
    /// <summary>How often the gateway list is read again from <see cref="GatewaysUrl"/>.</summary>
    public TimeSpan GatewaysRefresh { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>The cluster's Orleans ClusterId and ServiceId (--cluster-id, --service-id): the silos' Regatta:ClusterId and Regatta:ServiceId.</summary>
    public string ClusterId { get; init; } = DefaultClusterId;
    public string ServiceId { get; init; } = DefaultClusterId;
    /// <summary>What the silos use unless configured otherwise.</summary>
    public const string DefaultClusterId = "regatta";
    public required string Name { get; init; }
    public required string WorkerId { get; init; }
    public string Device { get; init; } = "auto";
    /// <summary>Overrides the run's data source (a file of this machine's own), or null to use the run spec's.</summary>
    public string? Data { get; init; }
    public string? JoinToken { get; init; }
    public string? RunId { get; init; }
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(5);
    public required string CacheDir { get; init; }
    /// <summary>Base URL of the blob data plane (--blob-url); null: the one the cluster advertises; "grain": no HTTP, 1 MiB grain calls only.</summary>
    public string? BlobUrl { get; init; }
    /// <summary>Fault injection for tests and demos: "nan" or "huge" poisons every update this agent sends.</summary>
    /// <remarks>
    /// Also "secagg-drop-after-share" (this member leaves every secure-aggregation round right after sharing its keys)
    /// and "secagg-drop-after-share-once" (only in a round's first attempt).
    /// </remarks>
    public string? Poison { get; init; }
    /// <summary>
    /// Test seam, never set by the command line: sees this member's vector (weight × update, then the weight) just
    /// before it is masked, with the job id. Lets a test check the unmasked aggregate against the plain mean and look
    /// for these bytes in the coordinator's storage.
    /// </summary>
    public Action<string, float[]>? SecAggInputObserver { get; init; }
    /// <summary>Bytes offered for serving model blocks; null: 512 MiB on a CPU, 80% of the VRAM on a GPU; 0 serves nothing.</summary>
    public long? ServeMemoryBytes { get; init; }
    /// <summary>Bytes for the key/value caches of inference sessions (--session-memory-mb); null: <see cref="BlockServer.DefaultSessionBytes"/>.</summary>
    public long? SessionMemoryBytes { get; init; }
    /// <summary>Fault injection for tests and demos: extra time every inference hop takes on this agent.</summary>
    public TimeSpan ServeDelay { get; init; }
    /// <summary>The silo certificate's SHA-256 to pin (--silo-cert-sha256 / --silo-cert-sha256-file); null: a CA decides.</summary>
    public string? SiloCertSha256 { get; init; }
    /// <summary>PEM CA bundle the silo's certificate must chain to (--silo-ca); null with no pin: the system trust store.</summary>
    public string? SiloCa { get; init; }
    /// <summary>Name the silo's certificate must carry (--silo-tls-name); null: the host of <see cref="Coordinator"/>.</summary>
    public string? SiloTlsName { get; init; }
}
