using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Regatta.Runs;

namespace Regatta.WorkerAgent;

/// <summary>Where the operator commands' admin key came from, for messages that say which key was refused.</summary>
public sealed record AdminKey(string Value, string Source)
{
    public const string EnvironmentVariable = "REGATTA_ADMIN_KEY";
    /// <summary>Where a local-mode silo started from the repository root writes its generated key.</summary>
    public const string LocalSiloFile = "data/admin-api-key";
    public const int MaxLength = 1024;

    /// <summary>
    /// --api-key-file, else env REGATTA_ADMIN_KEY, else data/admin-api-key when that file exists (a local silo's);
    /// null when none is given. Throws <see cref="ArgumentException"/> for a file that cannot be read or a malformed key.
    /// </summary>
    public static AdminKey? Resolve(string? keyFile, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (keyFile is not null) return FromFile(keyFile, $"--api-key-file {keyFile}");
        if (environment(EnvironmentVariable) is { Length: > 0 } value) return Checked(value.Trim(), $"env {EnvironmentVariable}");
        return File.Exists(LocalSiloFile) ? FromFile(LocalSiloFile, $"{LocalSiloFile} (the local silo's key file)") : null;
    }

    private static AdminKey FromFile(string path, string source)
    {
        string text;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new ArgumentException($"{source}: no such file");
            if (info.Length > MaxLength + 2) throw new ArgumentException($"{source}: over {MaxLength} bytes; not an admin API key file");
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{source}: cannot read it: {e.Message}", e);
        }
        return Checked(text.Trim(), source);
    }

    private static AdminKey Checked(string key, string source)
    {
        if (key.Length == 0) throw new ArgumentException($"{source}: the admin API key is empty");
        if (key.Length > MaxLength || key.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c > '~'))
            throw new ArgumentException($"{source}: not an admin API key (one line of at most {MaxLength} printable ASCII characters)");
        return new AdminKey(key, source);
    }
}

/// <summary>Why an API call failed, already worded for the operator, with the exit code the command returns.</summary>
public sealed class ApiCallException(int exitCode, IReadOnlyList<string> messages, int? status = null) : Exception(string.Join("; ", messages))
{
    public int ExitCode { get; } = exitCode;
    public IReadOnlyList<string> Messages { get; } = messages;
    /// <summary>The HTTP status, or null when no answer came (unreachable, timed out).</summary>
    public int? Status { get; } = status;
}

/// <summary>The silo's REST API as the operator commands use it (HttpClient + System.Text.Json).</summary>
public sealed class ApiClient : IDisposable
{
    public const string DefaultUrl = "http://127.0.0.1:5080";
    private readonly HttpClient _http;
    private readonly AdminKey? _key;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public ApiClient(Uri baseUrl, AdminKey? key, HttpMessageHandler? handler = null)
    {
        BaseUrl = baseUrl;
        _key = key;
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = baseUrl;
        _http.Timeout = TimeSpan.FromSeconds(30);
        if (key is not null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Value);
    }

    public Uri BaseUrl { get; }

    /// <summary>--api: an absolute http(s) URL of the silo (a path prefix is kept, for a reverse proxy), without query or credentials.</summary>
    public static Uri ParseUrl(string url)
    {
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0
            || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
            throw new ArgumentException($"--api '{url}': expected an absolute http(s) URL without credentials, query or fragment, e.g. {DefaultUrl}");
        return new Uri(uri.GetLeftPart(UriPartial.Authority) + uri.AbsolutePath.TrimEnd('/') + "/");
    }

    public Task<T> GetAsync<T>(string path, CancellationToken ct) => SendAsync<T>(() => new HttpRequestMessage(HttpMethod.Get, path), ct);

    public Task<T> PostAsync<T>(string path, HttpContent? content, CancellationToken ct) =>
        SendAsync<T>(() => new HttpRequestMessage(HttpMethod.Post, path) { Content = content }, ct);

    private async Task<T> SendAsync<T>(Func<HttpRequestMessage> request, CancellationToken ct)
    {
        using var message = request();
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message, ct);
        }
        catch (HttpRequestException e)
        {
            throw new ApiCallException(4, [$"cannot reach the Regatta API at {BaseUrl}: {e.Message} (is the silo running? see --api)"]);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ApiCallException(4, [$"the Regatta API at {BaseUrl} did not answer within {_http.Timeout.TotalSeconds:0} s"]);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (response.IsSuccessStatusCode)
            {
                try
                {
                    return JsonSerializer.Deserialize<T>(text, Json) ?? throw new JsonException("null");
                }
                catch (JsonException e)
                {
                    throw new ApiCallException(4, [$"{message.Method} {message.RequestUri}: not a Regatta API answer ({e.Message}); is --api the silo's URL?"],
                        (int)response.StatusCode);
                }
            }
            throw Refusal(message, response, text);
        }
    }

    private ApiCallException Refusal(HttpRequestMessage request, HttpResponseMessage response, string text)
    {
        var status = (int)response.StatusCode;
        var errors = ProblemErrors(text);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            var why = _key is null
                ? "no admin API key was given: pass --api-key-file FILE or set env REGATTA_ADMIN_KEY (a local silo writes its key to data/admin-api-key)"
                : $"the admin API key from {_key.Source} is wrong: {BaseUrl} refused it";
            return new ApiCallException(3, [$"401 Unauthorized: {why}"], status);
        }
        if (errors.Count == 0)
        {
            var body = text.Length > 200 ? text[..200] + "…" : text;
            errors = [$"{request.Method} {request.RequestUri} answered {status} {response.ReasonPhrase}{(body.Length > 0 ? ": " + body : "")}"];
        }
        return new ApiCallException(status is 400 or 413 or 415 ? 2 : 1, errors, status);
    }

    /// <summary>The "field: message" lines of an RFC 7807 problem's <c>errors</c>, else its detail; empty when the body is no problem.</summary>
    public static List<string> ProblemErrors(string text)
    {
        var lines = new List<string>();
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return lines;
            if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
                foreach (var field in errors.EnumerateObject())
                foreach (var message in field.Value.ValueKind == JsonValueKind.Array ? field.Value.EnumerateArray() : Enumerable.Empty<JsonElement>())
                    if (message.ValueKind == JsonValueKind.String)
                        lines.Add(field.Name is "spec" or "body" ? message.GetString()! : $"{field.Name}: {message.GetString()}");
            if (lines.Count == 0 && root.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String)
                lines.Add(detail.GetString()!);
            if (lines.Count == 0 && root.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String)
                lines.Add(title.GetString()!);
        }
        catch (JsonException) { }
        return lines;
    }

    public static StringContent Yaml(string yaml) => new(yaml, Encoding.UTF8, "application/yaml");

    public void Dispose() => _http.Dispose();
}

// What the commands read of the API's answers; other fields are ignored. Numbers that are not finite come as null.

public sealed record RunStatusDto(string RunId, RunState State, int Round, int CommittedRounds, double? Accuracy, double? Loss, List<RunMemberDto> Members,
    double? Epsilon = null, double? InitialAccuracy = null, RunSpecCoreDto? Spec = null, List<RunTransitionDto>? Timeline = null);

/// <summary>The parts of a run's spec that decide what its members train on and how (the baselines repeat them).</summary>
public sealed record RunSpecCoreDto(ModelSpec Model, DataSpec Data, TrainingSpec Training, long Seed)
{
    public RunSpec ToSpec() => new() { Model = Model, Data = Data, Training = Training, Seed = Seed };
}

public sealed record RunTransitionDto(RunState From, RunState To, DateTimeOffset At);

public sealed record RunMemberDto(string WorkerId, MemberStatus Status);

public sealed record RoundStatusDto(int Round, int UpdatesAccepted, int UpdatesRefused, DateTimeOffset StartedAt, DateTimeOffset EndedAt,
    double? TrainLoss, double? WitnessAccuracy, double? ValidationLoss, double? ValidationAccuracy, double? Epsilon = null);
