using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Regatta.Jobs;
using Regatta.Network;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.WorkerAgent;

/// <summary>
/// One agent's life in the cluster: register, heartbeat, wait for approval, join its run, then long-poll for
/// assignments and carry them out. Cluster outages are retried; Ctrl+C and SIGTERM unregister within
/// <see cref="LeaveTimeout"/>, so operators and runs see the worker gone at once rather than after the heartbeat timeout.
/// </summary>
public sealed class WorkerSession
{
    /// <summary>The longest a stopping agent spends leaving: finishing its background load, then unregistering.</summary>
    public static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(10);

    private readonly AgentOptions _options;
    private readonly IClusterClient _client;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _retry;
    private readonly JobRunner _runner;
    private JobProgress? _progress;
    private ApprovalStatus _approval = ApprovalStatus.Pending;
    private IBlockServer? _serverReference;
    private Task _loading = Task.CompletedTask;
    private (string Version, LayerRange Layers)? _loadingTarget;

    private readonly WorkerCredential _credential;

    /// <param name="compute">Shared compute slots of a simulation's virtual clients (null: this agent computes whenever it has work).</param>
    /// <param name="partitions">A simulation's data, partitioned once for all its clients (null: this agent builds its own partition).</param>
    public WorkerSession(AgentOptions options, IClusterClient client, ILoggerFactory loggers, WorkerCredential credential, SemaphoreSlim? compute = null,
        SharedPartitions? partitions = null)
    {
        _options = options;
        _client = client;
        _credential = credential;
        _logger = loggers.CreateLogger("agent." + options.WorkerId);
        Transfer = new ModelTransfer(client, options.CacheDir, _logger, ModelTransferOptions.From(options.BlobUrl));
        _runner = new JobRunner(options, Transfer, _logger, p => _progress = p, compute, (job, request) => Worker.SecAgg(job, request), partitions);
        Serving = new BlockServer(options.WorkerId, options.Device, Transfer, _logger,
            new HopSessions(options.SessionMemoryBytes ?? BlockServer.DefaultSessionBytes, BlockServer.DefaultSessionIdle, TimeProvider.System)) { HopDelay = options.ServeDelay };
        // Outages of the cluster are waited out; refusals by the coordinator (RegattaException) are not retried.
        _retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not RegattaException and not OperationCanceledException),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(5),
            OnRetry = a =>
            {
                _logger.LogWarning("Cluster call failed ({Error}); retrying in {Delay}", a.Outcome.Exception?.Message, a.RetryDelay);
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    public ModelTransfer Transfer { get; }
    public BlockServer Serving { get; }
    public int JobsDone { get; private set; }
    // Built once: GetGrain resolves the interface by reflection on every call.
    private IWorkerGrain Worker => _worker ??= _client.GetGrain<IWorkerGrain>(_options.WorkerId);
    private IWorkerGrain? _worker;

    public async Task RunAsync(CancellationToken ct)
    {
        var hardware = _runner.DetectHardware();
        hardware = hardware with
        {
            ServeMemoryBytes = _options.ServeMemoryBytes ?? (hardware.DeviceKind == "cpu" ? 512L << 20 : null),
            Capabilities = [.. hardware.Capabilities, "serve"],
        };
        var registered = await _retry.ExecuteAsync(async _ => await Worker.Register(new WorkerRegistration
        {
            Name = _options.Name,
            Hardware = hardware,
            JoinToken = _options.JoinToken,
            RunId = _options.RunId,
        }), ct);
        if (registered.Credential is { } issued)
        {
            _credential.Store(issued);
            _logger.LogInformation("Issued a worker credential, kept in {Path}", _credential.Path);
        }
        var view = registered.View;
        _approval = view.Approval;
        _logger.LogInformation("Registered as {WorkerId} on {Device} ({Name}), {Cores} cores: {Approval}",
            _options.WorkerId, hardware.DeviceKind, hardware.DeviceName, hardware.CpuCores, view.Approval);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var beating = HeartbeatLoop(stop.Token);
        try
        {
            if (_options.RunId is { } runId) await JoinRun(runId, ct);
            await AssignmentLoop(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        finally
        {
            if (ct.IsCancellationRequested) _logger.LogInformation("Stopping: unregistering {WorkerId}", _options.WorkerId);
            await stop.CancelAsync();
            await beating;
            // A block load in flight is cancelled with the session; it gets part of the leave budget, the rest is the unregister's.
            try { await _loading.WaitAsync(LeaveTimeout / 2, CancellationToken.None); } catch (Exception) { /* reported where it failed, or abandoned */ }
            await Unregister();
            if (_serverReference is not null) _client.DeleteObjectReference<IBlockServer>(_serverReference);
            Serving.Dispose();
        }
    }

    private async Task JoinRun(string runId, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                var joined = await _retry.ExecuteAsync(async _ => await Worker.Join(runId, _options.JoinToken), ct);
                _logger.LogInformation("Joined run {RunId} ({Status}{Auto})", runId, joined.Status, joined.AutoApproved ? ", approved by join token" : "");
                return;
            }
            catch (RegattaException e) when (e.Code is "not_approved" or "unknown_run")
            {
                // Waiting for an operator to approve us, or for the run to be created.
                _logger.LogInformation("Waiting to join {RunId}: {Reason}", runId, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), ct);
            }
        }
    }

    private async Task AssignmentLoop(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            if (_approval == ApprovalStatus.Rejected) throw new RegattaException("rejected", "this worker was rejected by the coordinator");
            // The long poll is abandoned on a stop (the grain call itself cannot be cancelled): leaving must not wait 15 s for it.
            var assignment = await _retry.ExecuteAsync(async token => await Worker.NextAssignment(TimeSpan.FromSeconds(15)).WaitAsync(token), ct);
            if (assignment is null) continue;
            _logger.LogInformation("Job {JobId}: {Kind} round {Round} of run {RunId}", assignment.JobId, assignment.Kind, assignment.Round, assignment.RunId);
            JobOutcome outcome;
            try
            {
                outcome = await _runner.RunAsync(assignment, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                _logger.LogError(e, "Job {JobId} failed", assignment.JobId);
                outcome = new JobOutcome { Succeeded = false, Error = e.Message, Stage = JobRunner.StageOf(e) };
            }
            _progress = null;
            try
            {
                await _retry.ExecuteAsync(async _ => await Worker.Complete(assignment.JobId, outcome), ct);
                JobsDone++;
            }
            catch (RegattaException e)
            {
                // The run moved on (job closed by a deadline or a cancel): nothing to do but say so.
                _logger.LogWarning("Job {JobId} result not taken: {Reason}", assignment.JobId, e.Message);
            }
        }
    }

    private async Task HeartbeatLoop(CancellationToken ct)
    {
        var interval = _options.Heartbeat;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var served = Serving.TakeTokensServed();
                HeartbeatReply reply;
                try
                {
                    reply = await Worker.Heartbeat(new Heartbeat
                    {
                        Status = _progress is null ? Liveness.Online : Liveness.Busy,
                        Progress = _progress,
                        TokensServedSinceLast = served,
                    });
                }
                catch
                {
                    Serving.ReturnTokensServed(served); // reported with the next heartbeat that gets through
                    throw;
                }
                if (reply.Approval != _approval)
                    _logger.LogInformation("Approval changed: {From} → {To}", _approval, reply.Approval);
                _approval = reply.Approval;
                await SyncServing(reply, ct);
            }
            catch (RegattaException e) when (e.Code == "rejected")
            {
                _approval = ApprovalStatus.Rejected;
                _logger.LogError("Rejected by the coordinator: {Reason}", e.Message);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogWarning("Heartbeat failed: {Error}", e.Message);
            }
            try { await Task.Delay(interval, ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>
    /// Follows the layer map: loads the blocks the coordinator assigned (in the background: heartbeats go on meanwhile),
    /// releases them when unassigned, and re-announces the loaded blocks with every heartbeat so the worker grain
    /// (which keeps the endpoint only in memory) can always route to this agent.
    /// </summary>
    private async Task SyncServing(HeartbeatReply reply, CancellationToken ct)
    {
        if (reply.Layers is not { } layers || reply.ModelVersion is not { } version)
        {
            if (Serving.Holding is not null && _loading.IsCompleted) await Serving.UnloadAsync();
            return;
        }
        if (Serving.Holding == (version, layers))
        {
            _serverReference ??= _client.CreateObjectReference<IBlockServer>(Serving);
            try
            {
                await Worker.Serve(_serverReference, version, layers);
            }
            catch (RegattaException e) when (e.Code is "stale_layers" or "not_serving")
            {
                _logger.LogInformation("Serving: not announced ({Reason})", e.Message);
            }
            return;
        }
        if (!_loading.IsCompleted || _loadingTarget == (version, layers)) return;
        _loadingTarget = (version, layers);
        _loading = Task.Run(async () =>
        {
            try
            {
                var (model, quantization) = await Worker.GetServingModel();
                if (model.Version != version) return; // the model moved on; the next heartbeat brings the new assignment
                _logger.LogInformation("Serving: loading blocks {Layers} of {Version} ({Source})", layers, version[..12], model.Source);
                await Serving.LoadAsync(model, layers, quantization, ct);
                _serverReference ??= _client.CreateObjectReference<IBlockServer>(Serving);
                await Worker.Serve(_serverReference, version, layers); // at once, not a heartbeat later
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogError(e, "Serving: could not load blocks {Layers}", layers);
            }
            finally
            {
                _loadingTarget = null;
            }
        }, ct);
    }

    private async Task Unregister()
    {
        try
        {
            await Worker.Unregister().WaitAsync(LeaveTimeout / 2);
            _logger.LogInformation("Unregistered {WorkerId}", _options.WorkerId);
        }
        catch (Exception e)
        {
            _logger.LogWarning("Could not unregister: {Error}", e.Message);
        }
    }
}
