using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Logging;
using Regatta.Dashboard.Access;
using Regatta.Dashboard.Feed;
using Regatta.Network;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Dashboard.Actions;

/// <summary>
/// Every change an operator can make from the dashboard. Each checks the admin role here, on the server, whatever the
/// page showed; validates its input before touching a grain; and asks the feed to refresh so the change shows at once.
/// </summary>
public sealed class DashboardActions(
    IGrainFactory grains,
    AuthenticationStateProvider authentication,
    DashboardFeed feed,
    IMeterFactory meters,
    ILogger<DashboardActions> logger)
{
    public const int MaxReasonLength = 500;

    private readonly Counter<long> _actions = meters.Create(DashboardMetrics.MeterName)
        .CreateCounter<long>("regatta.dashboard.actions", description: "Operator actions taken from the dashboard, by action and outcome");

    public async Task<bool> CanActAsync() => (await authentication.GetAuthenticationStateAsync()).User.IsInRole(DashboardRoles.Admin);

    public Task<ActionOutcome> ApproveWorker(string workerId) =>
        Act("approve", workerId, "workerId", async () =>
        {
            await grains.GetGrain<IWorkerOperatorGrain>(workerId).Approve();
            return $"Worker {workerId} approved";
        });

    public Task<ActionOutcome> RejectWorker(string workerId, string? reason) =>
        Act("reject", workerId, "workerId", async () =>
        {
            await grains.GetGrain<IWorkerOperatorGrain>(workerId).Reject(Reason(reason, "rejected by operator"));
            return $"Worker {workerId} rejected";
        });

    public Task<ActionOutcome> StartRun(string runId) => Command("start", runId, run => run.Start(), "started");
    public Task<ActionOutcome> PauseRun(string runId) => Command("pause", runId, run => run.Pause(), "paused");
    public Task<ActionOutcome> ResumeRun(string runId) => Command("resume", runId, run => run.Resume(), "resumed");

    public Task<ActionOutcome> RestoreRun(string runId, int round) =>
        Command("restore", runId, run => run.Restore(round), $"restored from the checkpoint of round {round}");

    public Task<ActionOutcome> CancelRun(string runId, string? reason) =>
        Command("cancel", runId, run => run.Cancel(Reason(reason, "cancelled by operator")), "cancelled");

    public Task<ActionOutcome> SetQuantization(string mode) =>
        Act("quantization", "network", "network", async () =>
        {
            if (!NetworkLimits.QuantizationModes.Contains(mode))
                throw new RegattaException("bad_quantization", $"quantization must be one of {string.Join(", ", NetworkLimits.QuantizationModes)}");
            await grains.GetGrain<INetworkSettingsGrain>(0).SetQuantization(mode);
            return $"Quantization set to {mode}";
        });

    public Task<ActionOutcome> SetTargetWorkers(int count) =>
        Act("target-workers", "network", "network", async () =>
        {
            if (count is < 1 or > NetworkLimits.MaxTargetWorkers)
                throw new RegattaException("bad_target_workers", $"the target worker count must be in [1, {NetworkLimits.MaxTargetWorkers}]");
            await grains.GetGrain<INetworkSettingsGrain>(0).SetTargetWorkers(count);
            return $"Target worker count set to {count}";
        });

    /// <summary>Serves a Hugging Face model folder on the silo; the layer map publishes its parts and re-plans.</summary>
    public Task<ActionOutcome> ServeFolder(string? folder) =>
        Act("serve-folder", "network", "network", async () =>
        {
            if (string.IsNullOrWhiteSpace(folder)) throw new RegattaException("bad_model_folder", "folder: give the model folder's absolute path on the silo");
            var model = await grains.GetGrain<ILayerMapGrain>(0).ServeFolder(folder.Trim());
            return $"Serving {model.Spec.Name} from {model.Source} ({model.Blocks} blocks, version {model.Version[..12]})";
        });

    /// <summary>
    /// Generates for a user from the playground, handing each token to <paramref name="onToken"/> as it is produced.
    /// Null with the refusal when the request is refused or fails.
    /// </summary>
    public async Task<(GenerationResult? Result, ActionOutcome Outcome)> Generate(GenerationRequest request, Func<GenerationEvent, Task> onToken)
    {
        if (!await CanActAsync()) return (null, Denied("generate"));
        if (!Ids.IsValid(request.UserId)) return (null, Count("generate", ActionOutcome.Refused($"user: '{request.UserId}' is not a valid id")));
        try
        {
            GenerationResult? result = null;
            await foreach (var e in grains.GetGrain<IInferenceStreamGrain>(Guid.NewGuid().ToString("n")).Stream(request))
            {
                if (e.Result is not null) result = e.Result;
                else await onToken(e);
            }
            return (result, Count("generate", ActionOutcome.Done($"{result?.CompletionTokens} tokens through {result?.WorkerIds.Count} workers")));
        }
        catch (RegattaException e)
        {
            return (null, Count("generate", ActionOutcome.Refused(e.Message)));
        }
    }

    /// <summary>
    /// Creates a run from its YAML. Parse errors carry "line N, column M: ..."; the run grain's validation errors carry
    /// "path: message"; both come back in <see cref="ActionOutcome.Errors"/> and nothing is stored.
    /// </summary>
    public async Task<ActionOutcome> CreateRun(string? runId, string? yaml, bool start)
    {
        if (!await CanActAsync()) return Denied("create");
        if (!Ids.IsValid(runId))
            return Count("create", ActionOutcome.Refused("The run id is not valid", [$"runId: must be 1 to {Ids.MaxLength} characters of A-Z a-z 0-9 _ . - starting with a letter or digit"]));
        RunSpec spec;
        try
        {
            spec = RunSpecYaml.Parse(yaml ?? "");
        }
        catch (RunSpecException e)
        {
            return Count("create", ActionOutcome.Refused("The YAML is not a valid run spec", e.Errors));
        }
        try
        {
            var run = grains.GetGrain<IRunGrain>(runId!);
            await run.Create(spec);
            logger.LogInformation("Dashboard: run {RunId} created from YAML", runId);
            if (start) await run.Start();
            feed.RefreshNow();
            return Count("create", ActionOutcome.Done(start ? $"Run {runId} created and started" : $"Run {runId} created"));
        }
        catch (RunSpecException e)
        {
            return Count("create", ActionOutcome.Refused("The run spec is not valid", e.Errors));
        }
        catch (RegattaException e)
        {
            return Count("create", ActionOutcome.Refused(e.Message));
        }
    }

    private Task<ActionOutcome> Command(string action, string runId, Func<IRunGrain, Task<RunView>> command, string done) =>
        Act(action, runId, "runId", async () =>
        {
            await command(grains.GetGrain<IRunGrain>(runId));
            return $"Run {runId} {done}";
        });

    private async Task<ActionOutcome> Act(string action, string id, string what, Func<Task<string>> change)
    {
        if (!await CanActAsync()) return Denied(action);
        if (!Ids.IsValid(id)) return Count(action, ActionOutcome.Refused($"{what}: '{id}' is not a valid id"));
        try
        {
            var message = await change();
            logger.LogInformation("Dashboard: {Action} {Id} by {User}", action, id, (await authentication.GetAuthenticationStateAsync()).User.Identity?.Name);
            feed.RefreshNow();
            return Count(action, ActionOutcome.Done(message));
        }
        catch (RegattaException e)
        {
            return Count(action, ActionOutcome.Refused(e.Message));
        }
    }

    private ActionOutcome Denied(string action)
    {
        logger.LogWarning("Dashboard: {Action} refused to a user without the admin role", action);
        return Count(action, ActionOutcome.Refused("Only an admin can do this; you are signed in read-only"));
    }

    private ActionOutcome Count(string action, ActionOutcome outcome)
    {
        _actions.Add(1, new KeyValuePair<string, object?>("action", action), new KeyValuePair<string, object?>("outcome", outcome.Succeeded ? "done" : "refused"));
        return outcome;
    }

    private static string Reason(string? reason, string fallback)
    {
        var text = string.IsNullOrWhiteSpace(reason) ? fallback : reason.Trim();
        return text.Length <= MaxReasonLength ? text : text[..MaxReasonLength];
    }
}
