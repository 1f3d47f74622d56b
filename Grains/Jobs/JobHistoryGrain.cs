using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Grains.Jobs;

[GenerateSerializer, Alias("regatta.JobHistoryState")]
public sealed class JobHistoryState
{
    [Id(0)] public List<JobSummary> Jobs { get; set; } = [];
}

/// <summary>The job history of one run or one worker, newest first when read.</summary>
public sealed class JobHistoryGrain(
    [PersistentState("jobs", StoreNames.Regatta)] IPersistentState<JobHistoryState> state) : Grain, IJobHistoryGrain
{
    // Keeps one owner's history bounded; older jobs stay readable through their own JobGrain.
    private const int MaxEntries = 20_000;

    public async Task Record(JobSummary job)
    {
        var jobs = state.State.Jobs;
        var index = jobs.FindLastIndex(j => j.JobId == job.JobId);
        if (index >= 0)
        {
            if (jobs[index] == job) return;
            jobs[index] = job;
        }
        else
        {
            jobs.Add(job);
            if (jobs.Count > MaxEntries) jobs.RemoveRange(0, jobs.Count - MaxEntries);
        }
        await state.WriteStateAsync();
    }

    public Task<Page<JobSummary>> GetPage(int skip, int take)
    {
        Paging.Check(skip, take);
        var jobs = state.State.Jobs;
        var items = Enumerable.Range(0, jobs.Count).Reverse().Skip(skip).Take(take).Select(i => jobs[i]).ToList();
        return Task.FromResult(new Page<JobSummary>(items, jobs.Count, skip));
    }
}
