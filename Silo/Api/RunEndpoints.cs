using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Silo.Api;

/// <summary>/api/runs: submit a spec (YAML or JSON), list, inspect, drive the lifecycle, read rounds, metrics, jobs and reports.</summary>
public static partial class RunEndpoints
{
    public const int MaxReasonLength = 500;

    public static RouteGroupBuilder MapRunEndpoints(this RouteGroupBuilder api)
    {
        var runs = api.MapGroup("/runs").WithTags("Runs");
        runs.MapPost("", Submit).RequireAdminKey()
            .Accepts<RunSpec>("application/yaml", "application/json")
            .Produces<RunDto>(StatusCodes.Status201Created).Problems(400, 401, 409, 413, 415)
            .WithSummary("Submit a run spec (YAML as application/yaml, or JSON); ?id= names the run, else an id is generated");
        runs.MapGet("", List).Produces<PageDto<RunSummaryDto>>().Problems(400).WithSummary("Runs, newest first (?skip=&take=)");
        runs.MapGet("/{id}", Get).Produces<RunDto>().Problems(400, 404).WithSummary("A run: state, round, members, accuracy, loss, spec, timeline");
        runs.MapPost("/{id}/start", (string id, HttpContext http) => Act(id, http, run => run.Start())).RequireAdminKey()
            .Produces<RunDto>().Problems(400, 401, 404, 409).WithSummary("Start a created run: it waits for members");
        runs.MapPost("/{id}/pause", (string id, HttpContext http) => Act(id, http, run => run.Pause())).RequireAdminKey()
            .Produces<RunDto>().Problems(400, 401, 404, 409).WithSummary("Pause a run");
        runs.MapPost("/{id}/resume", (string id, HttpContext http) => Act(id, http, run => run.Resume())).RequireAdminKey()
            .Produces<RunDto>().Problems(400, 401, 404, 409).WithSummary("Resume a paused run in the state it left");
        runs.MapPost("/{id}/cancel", Cancel).RequireAdminKey()
            .Accepts<ReasonRequest>("application/json").Produces<RunDto>().Problems(400, 401, 404, 409, 413, 415)
            .WithSummary("Cancel a run (optional body {\"reason\": \"...\"})");
        runs.MapGet("/{id}/rounds", Rounds).Produces<List<RoundDto>>().Problems(400, 404).WithSummary("Committed rounds with their metrics");
        runs.MapGet("/{id}/metrics", Metrics).Produces<RunMetricsDto>().Problems(400, 404).WithSummary("Accuracy and loss per round");
        runs.MapGet("/{id}/jobs", Jobs).Produces<JobPageDto>().Problems(400, 404).WithSummary("The run's jobs, newest first (?skip=&take=)");
        runs.MapGet("/{id}/reports", Reports).Produces<List<RunReport>>().Problems(400, 404).WithSummary("Errors and status reports of the run");
        runs.MapPost("/{id}/restore", Restore).RequireAdminKey()
            .Produces<RunDto>().Problems(400, 401, 404, 409)
            .WithSummary("Roll the run back to a checkpoint (?round=N, else the last): it becomes the global model and rounds resume after it");
        runs.MapCheckpointFiles(route => route.RequireAdminKey());
        return api;
    }

    private static async Task<IResult> Submit(HttpContext http, IGrainFactory grains)
    {
        var requested = ApiQuery.String(http, "id");
        if (requested is not null) ApiQuery.Id(requested, "id");
        var bytes = await ApiBody.BytesAsync(http);
        var contentType = http.Request.ContentType;
        if (bytes.Length == 0)
            throw ApiProblemException.BadRequest("body", "a run spec is required: YAML with Content-Type application/yaml, or JSON");
        RunSpec spec;
        if (ApiBody.IsYaml(contentType))
        {
            try { spec = RunSpecYaml.Parse(ApiBody.Utf8(bytes)); }
            catch (RunSpecException e) { throw ApiProblems.FromSpec(e); }
        }
        else if (ApiBody.IsJson(contentType))
            spec = ApiBody.Deserialize<RunSpec>(http, bytes);
        else
            throw ApiBody.UnsupportedType(contentType, "application/yaml or application/json");
        RefuseNullSections(spec);
        var id = requested ?? NewRunId(spec.Name);
        var run = grains.GetGrain<IRunGrain>(id);
        var view = await run.Create(spec);
        return TypedResults.Created($"/api/runs/{id}", RunDto.Of(view, await run.GetTimeline()));
    }

    private static async Task<IResult> List(HttpContext http, IGrainFactory grains)
    {
        var (skip, take) = ApiQuery.Page(http);
        var page = await grains.GetGrain<IRunRegistryGrain>(0).List(skip, take);
        return TypedResults.Ok(new PageDto<RunSummaryDto>([.. page.Items.Select(RunSummaryDto.Of)], page.Total, skip, take));
    }

    private static async Task<IResult> Get(string id, IGrainFactory grains)
    {
        var (run, view) = await Existing(grains, id);
        return TypedResults.Ok(RunDto.Of(view, await run.GetTimeline()));
    }

    private static async Task<IResult> Act(string id, HttpContext http, Func<IRunGrain, Task<RunView>> action)
    {
        var (run, _) = await Existing(http.RequestServices.GetRequiredService<IGrainFactory>(), id);
        var view = await action(run);
        return TypedResults.Ok(RunDto.Of(view, await run.GetTimeline()));
    }

    private static async Task<IResult> Cancel(string id, HttpContext http)
    {
        ApiQuery.Id(id, "id");
        var body = await ApiBody.JsonAsync<ReasonRequest>(http, optional: true);
        var reason = Reason(body, "cancelled by operator");
        return await Act(id, http, run => run.Cancel(reason));
    }

    private static Task<IResult> Restore(string id, HttpContext http)
    {
        int? round = ApiQuery.String(http, "round") is null ? null : ApiQuery.RequiredInt(http, "round", 1, int.MaxValue);
        return Act(id, http, run => run.Restore(round));
    }

    private static async Task<IResult> Rounds(string id, IGrainFactory grains)
    {
        var (run, _) = await Existing(grains, id);
        return TypedResults.Ok((await run.GetRounds()).Select(RoundDto.Of).ToList());
    }

    private static async Task<IResult> Metrics(string id, IGrainFactory grains)
    {
        var (run, view) = await Existing(grains, id);
        return TypedResults.Ok(RunMetricsDto.Of(view, await run.GetRounds()));
    }

    private static async Task<IResult> Jobs(string id, HttpContext http, IGrainFactory grains)
    {
        var (skip, take) = ApiQuery.Page(http);
        await Existing(grains, id);
        var page = await grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun(id)).GetPage(skip, take);
        return TypedResults.Ok(new JobPageDto(page.Items, page.Total, skip, take));
    }

    private static async Task<IResult> Reports(string id, IGrainFactory grains)
    {
        var (run, _) = await Existing(grains, id);
        return TypedResults.Ok(await run.GetReports());
    }

    public static string Reason(ReasonRequest? body, string fallback)
    {
        var reason = body?.Reason;
        if (reason is null) return fallback;
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReasonLength)
            throw ApiProblemException.BadRequest("reason", $"must be 1 to {MaxReasonLength} characters when given");
        return reason;
    }

    /// <summary>A run that exists; 404 naming the id otherwise. The id is checked before the grain is touched.</summary>
    private static async Task<(IRunGrain Run, RunView View)> Existing(IGrainFactory grains, string id)
    {
        var run = grains.GetGrain<IRunGrain>(ApiQuery.Id(id, "id"));
        var view = await run.GetView();
        return view.RunId.Length > 0 ? (run, view) : throw new ApiProblemException(StatusCodes.Status404NotFound, "id", $"run '{id}' does not exist", "unknown_run");
    }

    /// <summary>YAML can say "model: ~"; the validator expects every section present, so a null one is refused here by name.</summary>
    private static void RefuseNullSections(RunSpec spec)
    {
        var errors = new Dictionary<string, string[]>();
        void Check(object? value, string path)
        {
            if (value is null) errors[path] = ["must not be null"];
        }
        Check(spec.Name, "name");
        Check(spec.Model, "model");
        if (spec.Model is { } model)
        {
            Check(model.Name, "model.name");
            Check(model.Parameters, "model.parameters");
        }
        Check(spec.Data, "data");
        if (spec.Data is { } data)
        {
            Check(data.Source, "data.source");
            Check(data.Partitioning, "data.partitioning");
        }
        Check(spec.Training, "training");
        if (spec.Training is { } training) Check(training.Optimizer, "training.optimizer");
        Check(spec.Selection, "selection");
        Check(spec.Witnesses, "witnesses");
        Check(spec.Aggregation, "aggregation");
        Check(spec.Privacy, "privacy");
        if (errors.Count > 0) throw new ApiProblemException(StatusCodes.Status400BadRequest, errors, "invalid_spec");
    }

    /// <summary>The spec's name made id-safe, with a random suffix: "demo-mlp-3f9a1c2b".</summary>
    private static string NewRunId(string? name)
    {
        var slug = Unsafe().Replace(name ?? "", "-").Trim('-', '.', '_');
        if (slug.Length > 40) slug = slug[..40].TrimEnd('-', '.', '_');
        if (slug.Length == 0) slug = "run";
        return $"{slug}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
    }

    [GeneratedRegex("[^A-Za-z0-9_.-]+")]
    private static partial Regex Unsafe();
}
