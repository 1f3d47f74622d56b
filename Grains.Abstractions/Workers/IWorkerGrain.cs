using Regatta.Jobs;

namespace Regatta.Workers;

/// <summary>A machine that trains and serves. Key: worker id (chosen by the agent, stable across restarts).</summary>
[Alias("regatta.IWorkerGrain")]
public interface IWorkerGrain : IGrainWithStringKey
{
    /// <summary>Registers or re-registers (idempotent); a new worker is Pending unless its join token matches its run.</summary>
    [Alias("Register")] Task<WorkerView> Register(WorkerRegistration registration);
    [Alias("Approve")] Task<WorkerView> Approve();
    [Alias("Reject")] Task<WorkerView> Reject(string reason);
    [Alias("Heartbeat")] Task<HeartbeatReply> Heartbeat(Heartbeat heartbeat);
    [Alias("Unregister")] Task Unregister();
    [Alias("GetView")] Task<WorkerView> GetView();

    /// <summary>Long-poll: returns the next assignment, or null when none arrives within maxWait.</summary>
    [Alias("NextAssignment"), AlwaysInterleave] Task<Assignment?> NextAssignment(TimeSpan maxWait);
    /// <summary>A run hands this worker a job; the worker opens the job's record, then holds it for its agent.</summary>
    [Alias("Assign"), OneWay] Task Assign(Assignment assignment);
    /// <summary>A job given to this worker closed.</summary>
    [Alias("OnJobClosed"), OneWay] Task OnJobClosed(JobRecord job);
    /// <summary>A run that this worker joined lists it as a member (or drops it).</summary>
    [Alias("SetRunMembership"), OneWay] Task SetRunMembership(string runId, bool member);
    /// <summary>The layer map gives this worker blocks of a model version to serve (null: none).</summary>
    [Alias("SetLayers")] Task SetLayers(LayerRange? layers, string? modelVersion);
    /// <summary>The agent has loaded the blocks of <paramref name="modelVersion"/> and answers forward calls on <paramref name="server"/>; sent again with every heartbeat.</summary>
    [Alias("Serve")] Task Serve(Network.IBlockServer server, string modelVersion, LayerRange layers);
    /// <summary>Runs one hop of an inference request on this worker's agent; RegattaException("not_serving") when it cannot.</summary>
    [Alias("Forward"), AlwaysInterleave] Task<Network.ForwardResult> Forward(Network.ForwardRequest request);
}

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
