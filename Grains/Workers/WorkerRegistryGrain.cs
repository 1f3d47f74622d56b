using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Grains.Workers;

[GenerateSerializer, Alias("regatta.WorkerRegistryState")]
public sealed class WorkerRegistryState
{
    [Id(0)] public Dictionary<string, WorkerSummary> Workers { get; set; } = new();
}

/// <summary>The list of workers for paging and counting; updated when a worker's approval or liveness changes.</summary>
public sealed class WorkerRegistryGrain(
    [PersistentState("workers", StoreNames.Regatta)] IPersistentState<WorkerRegistryState> state) : Grain, IWorkerRegistryGrain
{
    public async Task Upsert(WorkerSummary worker)
    {
        if (state.State.Workers.TryGetValue(worker.WorkerId, out var old) && old with { LastSeen = worker.LastSeen } == worker)
        {
            state.State.Workers[worker.WorkerId] = worker; // only last-seen moved: keep it in memory, no write
            return;
        }
        state.State.Workers[worker.WorkerId] = worker;
        await state.WriteStateAsync();
    }

    public async Task Remove(string workerId)
    {
        if (state.State.Workers.Remove(workerId)) await state.WriteStateAsync();
    }

    public Task<Page<WorkerSummary>> List(int skip, int take, ApprovalStatus? approval = null)
    {
        Paging.Check(skip, take);
        var all = state.State.Workers.Values.Where(w => approval is null || w.Approval == approval)
            .OrderBy(w => w.WorkerId, StringComparer.Ordinal).ToList();
        return Task.FromResult(new Page<WorkerSummary>(all.Skip(skip).Take(take).ToList(), all.Count, skip));
    }

    public Task<WorkerCounts> Counts()
    {
        var all = state.State.Workers.Values;
        return Task.FromResult(new WorkerCounts(
            all.Count(w => w.Liveness != Liveness.Offline && w.Approval == ApprovalStatus.Approved),
            all.Count(w => w.Approval == ApprovalStatus.Pending),
            all.Count(w => w.Liveness == Liveness.Offline),
            all.Count));
    }
}
