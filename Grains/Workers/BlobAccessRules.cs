using Regatta.Jobs;
using Regatta.Workers;

namespace Regatta.Grains.Workers;

/// <summary>
/// Which blobs a worker's agent may touch: it reads what its open assignments name (the model to train or judge, the
/// run kit) and the parts of the served model when it holds blocks; it writes its own results, only while it holds
/// an open training job, and at most <see cref="MaxUploadsPerJob"/> distinct blobs per job (retries and staged
/// uploads included). Everything else is refused, so an agent cannot read another run's weights or fill the store.
/// </summary>
public sealed class BlobAccessRules
{
    public const int MaxUploadsPerJob = 8;
    // Uploads granted per open job; kept in memory: after a reactivation a job may start a fresh count, still bounded.
    private readonly Dictionary<string, HashSet<string>> _uploads = new(StringComparer.Ordinal);

    /// <summary>Null when allowed, else why not.</summary>
    /// <param name="admitted">Whether the worker may work for a run: approved, or admitted to that run by its join token.</param>
    /// <param name="servedParts">The served model's parts, for an approved worker that holds blocks; else null.</param>
    public string? Check(string hash, BlobAccess access, Func<string, bool> admitted, IReadOnlyList<Assignment> assignments, IReadOnlyCollection<string>? servedParts)
    {
        assignments = [.. assignments.Where(a => admitted(a.RunId))];
        if (assignments.Count == 0 && servedParts is null) return "the worker is not approved for any run that names it";
        var readable = Names(assignments, hash) || servedParts?.Contains(hash) == true;
        if (access == BlobAccess.Read || (access == BlobAccess.Either && readable))
            return readable ? null : "no assignment of this worker names it";
        var job = assignments.FirstOrDefault(a => a.Kind == JobKind.Train);
        if (job is null) return "uploads are taken only while the worker holds an open training job";
        Forget(assignments);
        if (!_uploads.TryGetValue(job.JobId, out var granted)) _uploads[job.JobId] = granted = new HashSet<string>(StringComparer.Ordinal);
        if (granted.Contains(hash)) return null;
        if (granted.Count >= MaxUploadsPerJob) return $"job {job.JobId} already started {MaxUploadsPerJob} uploads";
        granted.Add(hash);
        return null;
    }

    /// <summary>Whether one of these assignments names the blob (the model to train or judge, or the one it is judged against).</summary>
    public static bool Names(IEnumerable<Assignment> assignments, string hash) => assignments.Any(a => a.ModelHash == hash || a.BaseModelHash == hash);

    /// <summary>How a refusal reads, over the gateway and on the HTTP data plane alike.</summary>
    public static string Refusal(string workerId, string hash, BlobAccess access, string why) =>
        $"worker '{workerId}' may not {access.ToString().ToLowerInvariant()} blob {hash[..Math.Min(12, hash.Length)]}: {why}";

    /// <summary>Counts of jobs no longer open are dropped.</summary>
    private void Forget(IReadOnlyList<Assignment> open)
    {
        if (_uploads.Count == 0) return;
        foreach (var jobId in _uploads.Keys.Where(j => open.All(a => a.JobId != j)).ToList()) _uploads.Remove(jobId);
    }
}
