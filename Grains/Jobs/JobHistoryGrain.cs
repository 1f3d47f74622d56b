using Orleans.Concurrency;
using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Grains.Jobs;

[GenerateSerializer, Alias("regatta.JobHistoryState")]
public sealed class JobHistoryState
{
    [Id(0)] public List<JobSummary> Jobs { get; set; } = [];
}

/// <summary>
/// The job history of one run or one worker, newest first when read. Reentrant with coalesced writes, paced by their
/// cost: a round of a run with N members records N jobs at once, and they share a few writes instead of N rewrites of
/// the list. A job's opening is shown at once but stored with the next closing (or when the grain deactivates): the
/// opening is a round start's hot path, and the job's worker holds the open job durably meanwhile.
/// </summary>
[Reentrant]
public sealed class JobHistoryGrain(
    [PersistentState("jobs", StoreNames.Regatta)] IPersistentState<JobHistoryState> state, TimeProvider time) : Grain, IJobHistoryGrain
{
    /// <summary>Each write rewrites the whole list (up to <see cref="MaxEntries"/>): the next one waits as long as it took, up to this.</summary>
    public static readonly TimeSpan MaxWritePause = TimeSpan.FromMilliseconds(250);

    // Keeps one owner's history bounded; older jobs stay readable through their own JobGrain.
    private const int MaxEntries = 20_000;
    private List<JobSummary> _jobs = null!;
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private CoalescedWrites _writes = null!;
    private bool _openingsUnwritten;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _jobs = state.State.Jobs;
        Reindex();
        _writes = new CoalescedWrites(WriteSnapshot, MaxWritePause, time);
        return Task.CompletedTask;
    }

    public Task Record(JobSummary job)
    {
        if (_index.TryGetValue(job.JobId, out var i))
        {
            // Records are not awaited in order by every sender: a late opening never hides the job's closing.
            if (_jobs[i] == job || (_jobs[i].Status == JobStatus.Closed && job.Status != JobStatus.Closed)) return Task.CompletedTask;
            _jobs[i] = job;
        }
        else
        {
            _index[job.JobId] = _jobs.Count;
            _jobs.Add(job);
            if (_jobs.Count > MaxEntries + MaxEntries / 10)
            {
                // Trimmed in steps of a tenth, so that the index is rebuilt rarely.
                _jobs.RemoveRange(0, _jobs.Count - MaxEntries);
                Reindex();
            }
        }
        if (job.Status != JobStatus.Closed)
        {
            _openingsUnwritten = true;
            return Task.CompletedTask;
        }
        return _writes.Persist();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_openingsUnwritten) await _writes.Persist();
    }

    public Task RecordOpening(JobSummary job) => Record(job);

    public Task RecordOpenings(List<JobSummary> jobs)
    {
        foreach (var job in jobs) Record(job);
        return Task.CompletedTask;
    }

    public Task<Page<JobSummary>> GetPage(int skip, int take)
    {
        Paging.Check(skip, take);
        var visible = Math.Min(_jobs.Count, MaxEntries);
        var items = Enumerable.Range(_jobs.Count - visible, visible).Reverse().Skip(skip).Take(take).Select(i => _jobs[i]).ToList();
        return Task.FromResult(new Page<JobSummary>(items, visible, skip));
    }

    private void Reindex()
    {
        _index.Clear();
        for (var i = 0; i < _jobs.Count; i++) _index[_jobs[i].JobId] = i;
    }

    private async Task WriteSnapshot()
    {
        // A copy: later turns change the list while the store serialises it.
        state.State = new JobHistoryState { Jobs = [.. _jobs] };
        _openingsUnwritten = false;
        try
        {
            await state.WriteStateAsync();
        }
        finally
        {
            state.State = new JobHistoryState { Jobs = _jobs };
        }
    }
}
