using Microsoft.AspNetCore.Http.HttpResults;
using Regatta.Runs;

namespace Regatta.Silo.Api;

/// <summary>A refused request: its HTTP status and, per field at fault, what is wrong. Becomes an RFC 7807 problem.</summary>
public sealed class ApiProblemException(int status, IReadOnlyDictionary<string, string[]> errors, string? code = null)
    : Exception(string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")))
{
    public int Status { get; } = status;
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;
    public string? Code { get; } = code;

    public ApiProblemException(int status, string field, string message, string? code = null)
        : this(status, new Dictionary<string, string[]> { [field] = [message] }, code) { }

    public static ApiProblemException BadRequest(string field, string message) => new(StatusCodes.Status400BadRequest, field, message, "bad_request");
}

/// <summary>Problem details for every 4xx the API returns: title by status, the message as detail, the fields in <c>errors</c>.</summary>
public static class ApiProblems
{
    public static ProblemHttpResult From(ApiProblemException problem) => Create(problem.Status, problem.Errors, problem.Code);

    public static ProblemHttpResult Create(int status, IReadOnlyDictionary<string, string[]> errors, string? code)
    {
        var details = new HttpValidationProblemDetails(errors.ToDictionary(e => e.Key, e => e.Value))
        {
            Status = status,
            Title = Title(status),
            Detail = string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")),
        };
        if (code is not null) details.Extensions["code"] = code;
        return TypedResults.Problem(details);
    }

    /// <summary>Spec errors "path: message" are filed under their path; parse errors ("line 3, column 5: ...") under "spec".</summary>
    public static ApiProblemException FromSpec(RunSpecException e)
    {
        var errors = new Dictionary<string, List<string>>();
        foreach (var error in e.Errors)
        {
            var colon = error.IndexOf(": ", StringComparison.Ordinal);
            var path = colon > 0 ? error[..colon] : "";
            var (field, message) = IsPath(path) ? (path, error[(colon + 2)..]) : ("spec", error);
            if (!errors.TryGetValue(field, out var list)) errors[field] = list = [];
            list.Add(message);
        }
        return new ApiProblemException(StatusCodes.Status400BadRequest, errors.ToDictionary(e => e.Key, e => e.Value.ToArray()), "invalid_spec");
    }

    /// <summary>A grain's refusal: unknown things are 404, wrong states 409, bad values 400.</summary>
    public static ApiProblemException FromRegatta(RegattaException e, string? routeField)
    {
        var (status, field) = e.Code switch
        {
            "unknown_run" => (404, routeField ?? "runId"),
            "unknown_worker" => (404, routeField ?? "workerId"),
            "unknown_user" => (404, routeField ?? "user_id"),
            "unknown_job" => (404, routeField ?? "jobId"),
            "run_exists" => (409, routeField ?? "id"),
            "invalid_state" => (409, "state"),
            "no_checkpoint" => (409, "checkpoints"),
            "no_model" or "not_a_transformer" => (409, "model"),
            "not_ready" or "no_server" => (503, "network"),
            "already_approved" or "already_rejected" or "rejected" or "not_approved" => (409, "approval"),
            _ => (400, FieldOf(e.Message) ?? "request"),
        };
        return new ApiProblemException(status, field, e.Message, e.Code);
    }

    /// <summary>Grain messages of the form "path: what is wrong" name their field.</summary>
    private static string? FieldOf(string message)
    {
        var colon = message.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 && IsPath(message[..colon]) ? message[..colon] : null;
    }

    private static bool IsPath(string text) =>
        text.Length is > 0 and < 120 && char.IsLetter(text[0]) && text.All(c => char.IsLetterOrDigit(c) || c is '.' or '_' or '[' or ']' or '/');

    private static string Title(int status) => status switch
    {
        400 => "The request is invalid",
        401 => "Authentication required",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Conflict with the current state",
        413 => "Request body too large",
        415 => "Unsupported media type",
        429 => "Too many requests",
        503 => "Not available now",
        _ => "Request refused",
    };
}

/// <summary>
/// The one endpoint filter that answers what a group's handlers throw as problem details, logs the refusal and counts
/// it (<c>regatta.api.problems</c>). Each group says how a grain's <see cref="RegattaException"/> codes map to statuses.
/// </summary>
public static class ProblemFilter
{
    /// <param name="fromRegatta">This group's table of grain refusal codes.</param>
    /// <param name="beforeAnswer">Headers a problem of this group carries (for example Content-Range on a 416).</param>
    public static RouteGroupBuilder AnswerProblems(this RouteGroupBuilder group, string logCategory,
        Func<RegattaException, HttpContext, ApiProblemException> fromRegatta,
        Func<HttpContext, ApiProblemException, Task>? beforeAnswer = null) =>
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            ApiProblemException problem;
            try
            {
                return await next(context);
            }
            catch (ApiProblemException e)
            {
                problem = e;
            }
            catch (RunSpecException e)
            {
                problem = ApiProblems.FromSpec(e);
            }
            catch (RegattaException e)
            {
                problem = fromRegatta(e, http);
            }
            if (http.Response.HasStarted) throw new BadHttpRequestException(problem.Message); // too late for a problem body: abort
            if (beforeAnswer is not null) await beforeAnswer(http, problem);
            http.RequestServices.GetService<ApiMetrics>()?.Problem(problem.Status, problem.Code);
            http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(logCategory)
                .LogInformation("{Method} {Path} refused with {Status}: {Problem}", http.Request.Method, http.Request.Path, problem.Status, problem.Message);
            return ApiProblems.From(problem);
        });
}
