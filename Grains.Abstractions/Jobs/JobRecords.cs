using Regatta.Runs;

namespace Regatta.Jobs;

[GenerateSerializer, Alias("regatta.JobKind")]
public enum JobKind
{
    Train,
    Validate,
    Witness,
    Infer,
    /// <summary>Download the run kit, check it, and confirm (before a member's first round).</summary>
    Provision,
    /// <summary>Answer through the client connection: the connectivity check before a member's first round.</summary>
    Echo,
}

[GenerateSerializer, Alias("regatta.JobStatus")]
public enum JobStatus { Opened, Closed }

[GenerateSerializer, Alias("regatta.JobResult")]
public enum JobResult { None, Success, Failure, Timeout, Cancelled }

/// <summary>The seed's Job: one unit of work with its parent (run and round) and child (worker).</summary>
[GenerateSerializer, Immutable, Alias("regatta.JobRecord")]
public sealed record JobRecord
{
    [Id(0)] public string JobId { get; init; } = "";
    [Id(1)] public string RequestId { get; init; } = "";
    /// <summary>Parent: the run.</summary>
    [Id(2)] public string RunId { get; init; } = "";
    [Id(3)] public int Round { get; init; }
    /// <summary>Child: the worker doing it.</summary>
    [Id(4)] public string WorkerId { get; init; } = "";
    [Id(5)] public JobKind Kind { get; init; }
    [Id(6)] public JobStatus Status { get; init; }
    [Id(7)] public JobResult Result { get; init; }
    [Id(8)] public DateTimeOffset OpenedAt { get; init; }
    [Id(9)] public DateTimeOffset? ClosedAt { get; init; }
    [Id(10)] public int Attempt { get; init; }
    [Id(11)] public Dictionary<string, double> Metrics { get; init; } = new();
    [Id(12)] public string? Error { get; init; }
    /// <summary>The model version the job starts from (train) or judges (witness).</summary>
    [Id(13)] public string? InputModelHash { get; init; }
    /// <summary>The blob the worker produced (an update for train jobs).</summary>
    [Id(14)] public string? OutputHash { get; init; }
    [Id(15)] public DateTimeOffset Deadline { get; init; }
}

/// <summary>What the worker reports when it finishes a job.</summary>
[GenerateSerializer, Alias("regatta.JobOutcome")]
public sealed record JobOutcome
{
    [Id(0)] public bool Succeeded { get; init; }
    [Id(1)] public Dictionary<string, double> Metrics { get; init; } = new();
    [Id(2)] public string? OutputHash { get; init; }
    [Id(3)] public string? Error { get; init; }
    /// <summary>Where it failed: download, train, upload, evaluate.</summary>
    [Id(4)] public string? Stage { get; init; }
}

/// <summary>A job handed to a worker: enough to do it without another call.</summary>
[GenerateSerializer, Immutable, Alias("regatta.Assignment")]
public sealed record Assignment
{
    [Id(0)] public string JobId { get; init; } = "";
    [Id(1)] public string RunId { get; init; } = "";
    [Id(2)] public int Round { get; init; }
    [Id(3)] public JobKind Kind { get; init; }
    [Id(4)] public string ModelHash { get; init; } = "";
    /// <summary>For witnesses: the global model the candidate is judged against.</summary>
    [Id(5)] public string? BaseModelHash { get; init; }
    /// <summary>Shared, never changed: not copied for each member's message when a round opens.</summary>
    [Id(6), Immutable] public RunSpec Spec { get; init; } = new();
    [Id(7)] public int Partition { get; init; }
    [Id(8)] public DateTimeOffset Deadline { get; init; }
    [Id(9)] public int Attempt { get; init; }
    /// <summary>When its worker opened the job (set by the worker when it takes the assignment).</summary>
    [Id(10)] public DateTimeOffset OpenedAt { get; init; }

    /// <summary>The job record this assignment opens (its worker opens it: the run only sends the assignment).</summary>
    public JobRecord ToJob(string workerId) => new()
    {
        JobId = JobId,
        RequestId = $"{RunId}/{Round}/{Attempt}",
        RunId = RunId,
        Round = Round,
        WorkerId = workerId,
        Kind = Kind,
        Attempt = Attempt,
        InputModelHash = ModelHash,
        Deadline = Deadline,
        Status = JobStatus.Opened,
        OpenedAt = OpenedAt,
    };
}

[GenerateSerializer, Alias("regatta.JobSummary")]
public sealed record JobSummary(
    [property: Id(0)] string JobId,
    [property: Id(1)] string RunId,
    [property: Id(2)] int Round,
    [property: Id(3)] string WorkerId,
    [property: Id(4)] JobKind Kind,
    [property: Id(5)] JobStatus Status,
    [property: Id(6)] JobResult Result,
    [property: Id(7)] DateTimeOffset OpenedAt,
    [property: Id(8)] DateTimeOffset? ClosedAt,
    [property: Id(9)] string? Error)
{
    public static JobSummary Of(JobRecord job) => new(job.JobId, job.RunId, job.Round, job.WorkerId, job.Kind,
        job.Status, job.Result, job.OpenedAt, job.ClosedAt, job.Error);
}

/// <summary>Well-known metric names in job and round records.</summary>
public static class MetricNames
{
    public const string Examples = "examples";
    public const string Loss = "loss";
    public const string Accuracy = "accuracy";
    public const string SamplesPerSecond = "samplesPerSecond";
    public const string UpdateNorm = "updateNorm";
}
