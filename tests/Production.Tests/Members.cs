using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Tests;

/// <summary>Scripted workers that register, join a run and work it, for the tests that kill silos under them.</summary>
public sealed class Members : IAsyncDisposable
{
    private Members(List<ScriptedWorker> workers) => Workers = workers;

    public List<ScriptedWorker> Workers { get; }
    public ScriptedWorker this[int index] => Workers[index];

    public static async Task<Members> JoinAsync(IGrainFactory grains, IRunGrain run, params string[] workerIds)
    {
        // Like an agent, a member gives up on a call lost with its gateway after a few seconds and tries again.
        var workers = workerIds.Select(id => new ScriptedWorker(grains, id) { CallTimeout = TimeSpan.FromSeconds(5) }).ToList();
        foreach (var w in workers)
        {
            await w.RegisterAsync();
            await run.Join(w.WorkerId, null);
        }
        return new Members(workers);
    }

    /// <param name="answers">Which kinds of job the members answer (default: all); the others they take and ignore.</param>
    public Members Start(Func<JobKind, bool>? answers = null)
    {
        foreach (var w in Workers)
        {
            if (answers is not null) w.Answers = answers;
            w.Start();
        }
        return this;
    }

    /// <summary>Every job id some member completed (its JobGrain closed with the member's outcome).</summary>
    public List<string> CompletedJobs() => Workers.SelectMany(w => { lock (w.CompletedJobs) return w.CompletedJobs.ToList(); }).ToList();

    public bool Completed(string jobId) => CompletedJobs().Contains(jobId);

    public async ValueTask DisposeAsync()
    {
        foreach (var w in Workers) await w.DisposeAsync();
    }
}
