using Regatta.Grains.Security;
using Microsoft.Extensions.Options;
using Regatta.Grains;
using Regatta.Grains.Workers;
using Regatta.Network;
using Regatta.Workers;

namespace Regatta.Silo.Api;

/// <summary>/api/workers: the volunteer network's worker protocol (register, heartbeat, unregister) and operator actions.</summary>
public static class WorkerEndpoints
{

    public static RouteGroupBuilder MapWorkerEndpoints(this RouteGroupBuilder api)
    {
        var workers = api.MapGroup("/workers").WithTags("Workers");
        workers.MapGet("", List).Produces<PageDto<WorkerDto>>().Problems(400)
            .WithSummary("Workers by id (?skip=&take=&approval=pending|approved|rejected)");
        workers.MapPost("/register", Register).RequireRateLimiting(ApiRateLimits.RegisterPolicy)
            .Accepts<WorkerRegistrationRequest>("application/json").Produces<WorkerRegistrationReply>().Problems(400, 409, 413, 415, 429)
            .WithSummary("Register a worker (pending until approved); the reply's worker_token authenticates its heartbeats. " +
                         "Registering a known id again needs its worker token or the admin key as bearer token");
        workers.MapPost("/heartbeat", Heartbeat)
            .Accepts<HeartbeatRequest>("application/json").Produces<HeartbeatReplyDto>().Problems(400, 401, 409, 413, 415, 429)
            .WithSummary("Liveness and tokens served; needs the worker's token as bearer token");
        workers.MapPost("/{id}/approve", Approve).RequireAdminKey().Produces<WorkerDto>().Problems(400, 401, 404, 409)
            .WithSummary("Approve a pending worker");
        workers.MapPost("/{id}/reject", Reject).RequireAdminKey()
            .Accepts<ReasonRequest>("application/json").Produces<WorkerDto>().Problems(400, 401, 404, 409, 413, 415)
            .WithSummary("Reject a worker (optional body {\"reason\": \"...\"}); it leaves its runs");
        workers.MapDelete("/{id}", Unregister).Produces(StatusCodes.Status204NoContent).Problems(400, 401, 404)
            .WithSummary("Unregister (shutdown): the worker goes offline and leaves its runs; needs its token or the admin key");
        return api;
    }

    private static async Task<IResult> List(HttpContext http, IGrainFactory grains)
    {
        var (skip, take) = ApiQuery.Page(http);
        var approval = ApiQuery.String(http, "approval") switch
        {
            null => (ApprovalStatus?)null,
            "pending" => ApprovalStatus.Pending,
            "approved" => ApprovalStatus.Approved,
            "rejected" => ApprovalStatus.Rejected,
            _ => throw ApiProblemException.BadRequest("approval", "must be pending, approved or rejected"),
        };
        var page = await grains.GetGrain<IWorkerRegistryGrain>(0).List(skip, take, approval);
        var views = await Task.WhenAll(page.Items.Select(w => grains.GetGrain<IWorkerOperatorGrain>(w.WorkerId).GetView()));
        return TypedResults.Ok(new PageDto<WorkerDto>([.. views.Select(WorkerDto.Of)], page.Total, skip, take));
    }

    private static async Task<IResult> Register(HttpContext http, IGrainFactory grains, IOptions<CoordinatorOptions> coordinator,
        ILoggerFactory logs)
    {
        var request = (await ApiBody.JsonAsync<WorkerRegistrationRequest>(http))!;
        var settings = await NetworkDirectory.Settings(grains);
        var registration = Validate(request, settings);
        var workerId = request.WorkerId!;
        var worker = grains.GetGrain<IWorkerGrain>(workerId);
        var tokens = grains.GetGrain<IWorkerTokenGrain>(workerId);
        var known = (await grains.GetGrain<IWorkerOperatorGrain>(workerId).GetView()).Approval != ApprovalStatus.Unregistered;
        string token;
        WorkerView view;
        if (!known)
        {
            token = Secrets.New();
            view = (await worker.Register(registration)).View;
            // Two first registrations racing: the one that stored its token first owns the id.
            if (!await tokens.Claim(Secrets.Hash(token)))
                throw new ApiProblemException(StatusCodes.Status409Conflict, "worker_id", $"worker '{workerId}' was registered at the same time by another caller", "worker_exists");
        }
        else if (ApiAuth.IsAdmin(http))
        {
            token = Secrets.New(); // an operator re-issues the token of a worker that lost it
            view = (await worker.Register(registration)).View;
            await tokens.Reset(Secrets.Hash(token));
        }
        else if (await ApiAuth.IsWorker(http, workerId))
        {
            token = ApiAuth.Bearer(http)!;
            view = (await worker.Register(registration)).View;
        }
        else
        {
            throw new ApiProblemException(StatusCodes.Status409Conflict, "worker_id",
                $"worker '{workerId}' is already registered; register again with its worker token (or the admin API key) as 'Authorization: Bearer ...'",
                "worker_exists");
        }
        logs.CreateLogger("Regatta.Api.Workers").LogInformation("Worker {WorkerId} registered over HTTP from {Remote}: {Status}",
            workerId, http.Connection.RemoteIpAddress, view.Approval);
        Dictionary<string, string>? ignored = request.RequestedLayers is null ? null : new()
        {
            ["requested_layers"] = "not used: a worker registered over HTTP serves no blocks (it has no block server; serving needs the " +
                                   "Regatta agent), and the layer plan gives agents ranges by the memory they offer",
        };
        var assignment = LayerAssignmentDto.Of(view, settings.ModelName, await NetworkDirectory.Gateways(grains));
        return TypedResults.Ok(new WorkerRegistrationReply(workerId, token, view.Approval, coordinator.Value.HeartbeatInterval.TotalSeconds,
            ignored, assignment));
    }

    private static async Task<IResult> Heartbeat(HttpContext http, IGrainFactory grains, HeartbeatLimiter limiter)
    {
        var request = (await ApiBody.JsonAsync<HeartbeatRequest>(http))!;
        var workerId = ApiQuery.Id(request.WorkerId, "worker_id");
        if (!await ApiAuth.IsWorker(http, workerId)) throw ApiAuth.Unauthorized(http, $"the worker token issued to '{workerId}'");
        // Limited after authentication, so nobody can use up another worker's heartbeats with a wrong token.
        if (limiter.Check(workerId) is { } retry)
        {
            await ApiRateLimits.WriteAsync(http, "worker", retry);
            return Results.Empty;
        }
        var errors = new Dictionary<string, string[]>();
        if (request.TokensServedSinceLast is < 0 or > WorkerLimits.MaxTokensPerHeartbeat)
            errors["tokens_served_since_last"] = [$"must be in [0, {WorkerLimits.MaxTokensPerHeartbeat}]"];
        if (request.Status is { } word && WorkerRules.ReportedStatusProblem(word) is { } problem)
            errors["status"] = [problem];
        if (errors.Count > 0) throw new ApiProblemException(StatusCodes.Status400BadRequest, errors, "bad_heartbeat");
        var reply = await grains.GetGrain<IWorkerGrain>(workerId).Heartbeat(WorkerRules.Reported(request.Status, request.TokensServedSinceLast ?? 0));
        var view = await grains.GetGrain<IWorkerOperatorGrain>(workerId).GetView();
        var settings = await NetworkDirectory.Settings(grains);
        var assignment = LayerAssignmentDto.Of(view, settings.ModelName, await NetworkDirectory.Gateways(grains));
        return TypedResults.Ok(new HeartbeatReplyDto(workerId, reply.Approval, reply.Liveness, view.ReportedStatus, reply.PendingAssignments,
            reply.Runs, reply.NextHeartbeat.TotalSeconds, assignment));
    }

    private static async Task<IResult> Approve(string id, IGrainFactory grains)
    {
        var worker = grains.GetGrain<IWorkerOperatorGrain>(ApiQuery.Id(id, "id"));
        return TypedResults.Ok(WorkerDto.Of(await worker.Approve()));
    }

    private static async Task<IResult> Reject(string id, HttpContext http, IGrainFactory grains)
    {
        var worker = grains.GetGrain<IWorkerOperatorGrain>(ApiQuery.Id(id, "id"));
        var reason = RunEndpoints.Reason(await ApiBody.JsonAsync<ReasonRequest>(http, optional: true), "rejected by operator");
        return TypedResults.Ok(WorkerDto.Of(await worker.Reject(reason)));
    }

    private static async Task<IResult> Unregister(string id, HttpContext http, IGrainFactory grains)
    {
        var workerId = ApiQuery.Id(id, "id");
        if (!ApiAuth.IsAdmin(http) && !await ApiAuth.IsWorker(http, workerId))
            throw ApiAuth.Unauthorized(http, $"the admin API key or the worker token issued to '{workerId}'");
        await grains.GetGrain<IWorkerGrain>(workerId).Unregister();
        return TypedResults.NoContent();
    }

    /// <summary>Every problem of a registration at once, under the seed's field names.</summary>
    private static WorkerRegistration Validate(WorkerRegistrationRequest r, NetworkSettings settings)
    {
        var errors = new Dictionary<string, string[]>();
        void Check(bool ok, string field, string message)
        {
            if (!ok) errors.TryAdd(field, [message]);
        }
        Check(Ids.IsValid(r.WorkerId), "worker_id", r.WorkerId is null ? "is required" : $"must be 1 to {Ids.MaxLength} characters of A-Z a-z 0-9 _ . - starting with a letter or digit");
        Check(r.Nickname is { Length: > 0 and <= 100 } && !string.IsNullOrWhiteSpace(r.Nickname), "nickname", "is required: 1 to 100 characters");
        Check(r.HardwareType is "cpu" or "cuda", "hardware_type", "is required: cpu or cuda");
        Check(r.DeviceName is null || r.DeviceName.Length <= 200, "device_name", "must be at most 200 characters");
        Check(r.VramGb is null || r.VramGb is >= 0 and <= 16384, "vram_gb", "must be in [0, 16384]");
        Check(r.CpuCores is null || r.CpuCores is >= 1 and <= 4096, "cpu_cores", "must be in [1, 4096]");
        Check(r.RamGb is null || r.RamGb is >= 0 and <= 1 << 20, "ram_gb", $"must be in [0, {1 << 20}]");
        Check(r.AgentVersion is null || r.AgentVersion.Length <= 50, "agent_version", "must be at most 50 characters");
        Check(r.Capabilities is null || r.Capabilities.Count <= 64 && r.Capabilities.All(c => c.Length is > 0 and <= 64),
            "capabilities", "at most 64 names of 1 to 64 characters");
        Check(r.RequestedLayers is null || r.RequestedLayers >= 1 && r.RequestedLayers <= settings.TotalLayers,
            "requested_layers", $"must be in [1, {settings.TotalLayers}] (the model has {settings.TotalLayers} blocks)");
        if (errors.Count > 0) throw new ApiProblemException(StatusCodes.Status400BadRequest, errors, "bad_registration");
        return new WorkerRegistration
        {
            Name = r.Nickname!,
            Hardware = new Hardware
            {
                // No block server over HTTP: the layer plan must not count on this worker for blocks.
                ServeMemoryBytes = 0,
                DeviceKind = r.HardwareType!,
                DeviceName = r.DeviceName ?? "",
                VramBytes = (long)((r.VramGb ?? 0) * WorkerText.BytesPerGb),
                CpuCores = r.CpuCores ?? 1,
                RamBytes = (long)((r.RamGb ?? 0) * WorkerText.BytesPerGb),
                AgentVersion = r.AgentVersion ?? "",
                Capabilities = r.Capabilities ?? [],
            },
        };
    }
}
