using System.Diagnostics.Metrics;
using Regatta.Runs;

namespace Regatta.Silo.Api;

/// <summary>Errors and status from agents (edge) and from the central provisioner, stored with their run.</summary>
public sealed record ReportRequest
{
    public string? RunId { get; init; }
    /// <summary>The reporting worker; absent for the central provisioner.</summary>
    public string? WorkerId { get; init; }
    /// <summary>info (a status), warning or error.</summary>
    public string? Severity { get; init; }
    /// <summary>download, train or upload, when the report is about one of them.</summary>
    public string? Stage { get; init; }
    public string? Message { get; init; }
}

/// <summary>POST /api/reports.</summary>
public static class ReportEndpoints
{
    public const int MaxMessageLength = 4000;
    public static readonly string[] Severities = ["info", "warning", "error"];
    public static readonly string[] Stages = ["download", "train", "upload"];

    public static RouteGroupBuilder MapReportEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/reports", Report).WithTags("Reports")
            .Accepts<ReportRequest>("application/json").Produces<RunReport>(201).Problems(400, 401, 404, 413, 415)
            .WithSummary("Report an error or a status of a run: with the admin API key (central provisioner) or the reporting worker's token");
        return api;
    }

    private static async Task<IResult> Report(HttpContext http, IGrainFactory grains, TimeProvider time, ApiMetrics metrics)
    {
        var request = (await ApiBody.JsonAsync<ReportRequest>(http))!;
        var errors = new Dictionary<string, string[]>();
        if (!Ids.IsValid(request.RunId)) errors["runId"] = [request.RunId is null ? "is required" : "is not a valid id"];
        if (request.WorkerId is not null && !Ids.IsValid(request.WorkerId)) errors["workerId"] = ["is not a valid id"];
        if (!Severities.Contains(request.Severity)) errors["severity"] = [$"is required: one of {string.Join(", ", Severities)}"];
        if (request.Stage is not null && !Stages.Contains(request.Stage)) errors["stage"] = [$"must be one of {string.Join(", ", Stages)} when given"];
        if (string.IsNullOrWhiteSpace(request.Message) || request.Message.Length > MaxMessageLength)
            errors["message"] = [$"is required: 1 to {MaxMessageLength} characters"];
        if (!ApiAuth.IsAdmin(http) && (request.WorkerId is null || !Ids.IsValid(request.WorkerId) || !await ApiAuth.IsWorker(http, request.WorkerId)))
            throw ApiAuth.Unauthorized(http, "the admin API key, or the worker token of the worker named in workerId");
        if (errors.Count > 0) throw new ApiProblemException(StatusCodes.Status400BadRequest, errors, "bad_report");

        var report = new RunReport(time.GetUtcNow(), request.Severity!, request.WorkerId ?? "central", request.Message!, request.Stage);
        await grains.GetGrain<IRunGrain>(request.RunId!).AddReport(report);
        metrics.Report(report);
        return TypedResults.Created($"/api/runs/{request.RunId}/reports", report);
    }
}

/// <summary>The API's own measurements: refused requests by status and code, and reports by severity.</summary>
public sealed class ApiMetrics
{
    public const string MeterName = "Regatta.Api";
    private readonly Counter<long> _problems;
    private readonly Counter<long> _reports;

    public ApiMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _problems = meter.CreateCounter<long>("regatta.api.problems", description: "Requests the API refused, by status and code");
        _reports = meter.CreateCounter<long>("regatta.api.reports", description: "Run reports received, by severity and stage");
    }

    public void Problem(int status, string? code) =>
        _problems.Add(1, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("code", code ?? ""));

    public void Report(RunReport report) =>
        _reports.Add(1, new KeyValuePair<string, object?>("severity", report.Severity), new KeyValuePair<string, object?>("stage", report.Stage ?? ""));
}
