using Regatta.Jobs;

namespace Regatta.Workers;

/// <summary>
/// What a worker's own agent calls, over the gateway, authenticated by the worker's credential (see docs/security.md).
/// Key: worker id (chosen by the agent, stable across restarts): every call acts for that worker only.
/// </summary>
[Alias("regatta.IWorkerGrain")]
public interface IWorkerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Registers or re-registers (idempotent). A new worker is Pending. An agent registering an unclaimed id without a
    /// credential is issued one (returned once, stored hashed); a claimed id needs its credential.
    /// </summary>
    [Alias("Register")] Task<WorkerRegistered> Register(WorkerRegistration registration);
    [Alias("Heartbeat")] Task<HeartbeatReply> Heartbeat(Heartbeat heartbeat);
    [Alias("Unregister")] Task Unregister();

    /// <summary>Long-poll: returns the next assignment, or null when none arrives within maxWait.</summary>
    [Alias("NextAssignment"), AlwaysInterleave] Task<Assignment?> NextAssignment(TimeSpan maxWait);
    /// <summary>Reports the outcome of one of this worker's jobs; the job closes and its run is told.</summary>
    [Alias("Complete")] Task<JobRecord> Complete(string jobId, JobOutcome outcome);
    /// <summary>
    /// Asks to take part in a run; a matching join token admits a pending worker. Interleaves: the run reads and may
    /// approve this worker while it decides.
    /// </summary>
    [Alias("Join"), AlwaysInterleave] Task<Runs.JoinResult> Join(string runId, string? joinToken);
    /// <summary>
    /// The served model and how to hold it, for the blocks the layer map gave this worker. Interleaves: the layer map
    /// may be telling this worker its blocks while the model is asked for.
    /// </summary>
    [Alias("GetServingModel"), AlwaysInterleave] Task<ServingModel> GetServingModel();
    /// <summary>The agent has loaded the blocks of <paramref name="modelVersion"/> and answers forward calls on <paramref name="server"/>; sent again with every heartbeat.</summary>
    [Alias("Serve")] Task Serve(Network.IBlockServer server, string modelVersion, LayerRange layers);
    /// <summary>
    /// A message of this worker's open train job <paramref name="jobId"/> to its round's secure aggregation, as this
    /// worker; the reply holds only what is addressed to it.
    /// </summary>
    [Alias("SecAgg")] Task<Runs.SecAggReply> SecAgg(string jobId, Runs.SecAggRequest request);
}

/// <summary>What operators do to a worker: reached through the REST API and the dashboard, never from a client.</summary>
[Alias("regatta.IWorkerOperatorGrain")]
public interface IWorkerOperatorGrain : IGrainWithStringKey
{
    [Alias("Approve")] Task<WorkerView> Approve();
    [Alias("Reject")] Task<WorkerView> Reject(string reason);
    [Alias("GetView")] Task<WorkerView> GetView();
}

/// <summary>What the cluster's own grains tell a worker: never reachable from a client.</summary>
[Alias("regatta.IWorkerClusterGrain")]
public interface IWorkerClusterGrain : IGrainWithStringKey
{
    /// <summary>
    /// A run hands this worker a job: the worker opens it (its stored assignment is the open job's record until the job
    /// closes), then holds it for its agent.
    /// </summary>
    [Alias("Assign"), OneWay] Task Assign(Assignment assignment);
    /// <summary>The run closes one of this worker's jobs (deadline, cancel): the worker closes it with the job it holds.</summary>
    [Alias("CloseJob")] Task CloseJob(string jobId, JobResult result, string reason);
    /// <summary>A job given to this worker closed.</summary>
    [Alias("OnJobClosed"), OneWay] Task OnJobClosed(JobRecord job);
    /// <summary>A run that this worker joined lists it as a member (or drops it).</summary>
    [Alias("SetRunMembership"), OneWay] Task SetRunMembership(string runId, bool member);
    /// <summary>The layer map gives this worker blocks of a model version to serve (null: none).</summary>
    [Alias("SetLayers")] Task SetLayers(LayerRange? layers, string? modelVersion);
    /// <summary>Runs one hop of an inference request on this worker's agent; RegattaException("not_serving") when it cannot.</summary>
    [Alias("Forward"), AlwaysInterleave] Task<Network.ForwardResult> Forward(Network.ForwardRequest request);
    /// <summary>
    /// Whether this worker's agent may touch blob <paramref name="hash"/> this way; null when it may, else why not. A
    /// granted upload counts against the worker's quota for its open job.
    /// </summary>
    [Alias("MayAccessBlob"), AlwaysInterleave] Task<string?> MayAccessBlob(string hash, BlobAccess access);
}

[GenerateSerializer, Alias("regatta.BlobAccess")]
public enum BlobAccess
{
    /// <summary>Download a blob the worker's assignments or layers name.</summary>
    Read,
    /// <summary>Upload (the worker's own result).</summary>
    Write,
    /// <summary>Look a blob up or get a ticket for it: allowed when reading or writing it is.</summary>
    Either,
}

/// <summary>A registration's answer: the worker, and its credential when this call issued one (shown only here).</summary>
[GenerateSerializer, Immutable, Alias("regatta.WorkerRegistered")]
public sealed record WorkerRegistered(
    [property: Id(0)] WorkerView View,
    [property: Id(1)] string? Credential);

/// <summary>The served model a worker loads its blocks from, and the quantization to hold them in.</summary>
[GenerateSerializer, Immutable, Alias("regatta.ServingModel")]
public sealed record ServingModel(
    [property: Id(0)] Network.ServedModel Model,
    [property: Id(1)] string Quantization);

[Alias("regatta.IWorkerRegistryGrain")]
public interface IWorkerRegistryGrain : IGrainWithIntegerKey
{
    [Alias("Upsert")] Task Upsert(WorkerSummary worker);
    [Alias("Remove")] Task Remove(string workerId);
    [Alias("List")] Task<Runs.Page<WorkerSummary>> List(int skip, int take, ApprovalStatus? approval = null);
    [Alias("Counts")] Task<WorkerCounts> Counts();
}

[GenerateSerializer, Alias("regatta.WorkerSummary")]
public sealed record WorkerSummary(
    [property: Id(0)] string WorkerId,
    [property: Id(1)] string Name,
    [property: Id(2)] ApprovalStatus Approval,
    [property: Id(3)] Liveness Liveness,
    [property: Id(4)] DateTimeOffset LastSeen,
    [property: Id(5)] string DeviceKind,
    [property: Id(6)] long VramBytes);

[GenerateSerializer, Alias("regatta.WorkerCounts")]
public sealed record WorkerCounts(
    [property: Id(0)] int Online,
    [property: Id(1)] int Pending,
    [property: Id(2)] int Offline,
    [property: Id(3)] int Total);
