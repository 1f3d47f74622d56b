using Regatta.Runs;

namespace Regatta.Jobs;

/// <summary>One unit of work. Key: job id.</summary>
[Alias("regatta.IJobGrain")]
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>
    /// Opens the job (idempotent for the same record). A worker opens a new job itself; it calls this for a job it
    /// has seen before (a replayed assignment), which the job grain may know closed.
    /// </summary>
    [Alias("Open")] Task<JobRecord> Open(JobRecord job);
    /// <summary>
    /// The worker reports the outcome; the job closes and its run and worker are told. <paramref name="opened"/> is the
    /// job as the worker's stored assignment has it: an open job is stored only by its worker until it closes.
    /// </summary>
    [Alias("Complete")] Task<JobRecord> Complete(string workerId, JobOutcome outcome, JobRecord? opened = null);
    /// <summary>
    /// The coordinator closes the job (timeout, cancel, refused update), through its worker while the job is open:
    /// <paramref name="opened"/> is the job as the worker holds it.
    /// </summary>
    [Alias("Close")] Task<JobRecord> Close(JobResult result, string? error, JobRecord? opened = null);
    [Alias("Get")] Task<JobRecord?> Get();
}

/// <summary>Paged job history of one owner: key "run/{id}" or "worker/{id}".</summary>
[Alias("regatta.IJobHistoryGrain")]
public interface IJobHistoryGrain : IGrainWithStringKey
{
    /// <summary>Records a job's state; returns once it is stored (an opening is stored with the next closing).</summary>
    [Alias("Record")] Task Record(JobSummary job);
    /// <summary>Shows a job that just opened (one-way: a round's opening does not wait for N replies).</summary>
    [Alias("RecordOpening"), OneWay] Task RecordOpening(JobSummary job);
    /// <summary>Shows the jobs a run's round just opened, in one message.</summary>
    [Alias("RecordOpenings"), OneWay] Task RecordOpenings(List<JobSummary> jobs);
    /// <summary>Newest first.</summary>
    [Alias("GetPage")] Task<Page<JobSummary>> GetPage(int skip, int take);
}

public static class JobHistoryKeys
{
    public static string ForRun(string runId) => "run/" + runId;
    public static string ForWorker(string workerId) => "worker/" + workerId;
}
