using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Regatta.Jobs;
using Regatta.Models;
using Regatta.Network;
using Regatta.Runs;
using Regatta.Workers;
using Regatta.WorkerAgent;

namespace Regatta.Tests;

/// <summary>
/// Hostile agents: real Orleans clients built the way the agent builds them (its credential on every call), connected to
/// a real gateway, try what an agent must not do. Each refusal is a RegattaException with a code, and the cluster's state
/// is unchanged afterwards.
/// </summary>
public sealed class AgentGateTests : IAsyncLifetime
{
    private RegattaCluster _cluster = null!;
    private readonly List<IHost> _agents = [];

    public async ValueTask InitializeAsync() => _cluster = await RegattaCluster.StartAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            await agent.StopAsync();
            agent.Dispose();
        }
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task An_agent_is_issued_a_credential_once_and_its_id_cannot_be_taken_over()
    {
        var (a, aCredential) = await ConnectAsync("gate-first");
        var registered = await a.GetGrain<IWorkerGrain>("gate-first").Register(Registration("gate-first"));
        Assert.NotNull(registered.Credential);
        Assert.Equal(ApprovalStatus.Pending, registered.View.Approval);
        aCredential.Store(registered.Credential!);

        // Again with its credential: the same worker, no new credential.
        var again = await a.GetGrain<IWorkerGrain>("gate-first").Register(Registration("gate-first"));
        Assert.Null(again.Credential);

        // Someone else, with no credential, claims the id.
        var (thief, _) = await ConnectAsync("gate-first", cacheName: "thief");
        var refused = await Assert.ThrowsAsync<RegattaException>(() => thief.GetGrain<IWorkerGrain>("gate-first").Register(Registration("thief")));
        Assert.Equal("worker_exists", refused.Code);
        Assert.Equal("gate-first", (await _cluster.Grains.GetGrain<IWorkerOperatorGrain>("gate-first").GetView()).Name);
    }

    [Fact]
    public async Task Calls_without_a_credential_or_with_a_wrong_one_are_refused_on_every_agent_method()
    {
        await RegisteredAsync("gate-owner");
        var before = await _cluster.Grains.GetGrain<IWorkerOperatorGrain>("gate-owner").GetView();

        var (anonymous, _) = await ConnectAsync("gate-owner", cacheName: "anonymous");
        var (forger, forged) = await ConnectAsync("gate-owner", cacheName: "forger");
        forged.Store("not-the-credential-of-anyone-at-all-0000000000");
        foreach (var (client, code) in new[] { (anonymous, "unauthenticated"), (forger, "bad_credential") })
        {
            var worker = client.GetGrain<IWorkerGrain>("gate-owner");
            foreach (var call in AgentCalls(worker))
            {
                var refused = await Assert.ThrowsAsync<RegattaException>(call);
                Assert.Equal(code, refused.Code);
            }
        }
        // A wrong credential is refused even for a registration.
        Assert.Equal("bad_credential", (await Assert.ThrowsAsync<RegattaException>(() =>
            forger.GetGrain<IWorkerGrain>("gate-owner").Register(Registration("forged")))).Code);

        Assert.Equal(Facts(before), Facts(await _cluster.Grains.GetGrain<IWorkerOperatorGrain>("gate-owner").GetView()));
    }

    [Fact]
    public async Task Worker_a_cannot_act_for_worker_b()
    {
        var a = await RegisteredAsync("gate-a");
        await RegisteredAsync("gate-b");
        var bBefore = await _cluster.Grains.GetGrain<IWorkerOperatorGrain>("gate-b").GetView();

        foreach (var call in AgentCalls(a.GetGrain<IWorkerGrain>("gate-b")).Append(() => a.GetGrain<IWorkerGrain>("gate-b").Register(Registration("gate-b-stolen"))))
            Assert.Equal("bad_credential", (await Assert.ThrowsAsync<RegattaException>(call)).Code);

        Assert.Equal(Facts(bBefore), Facts(await _cluster.Grains.GetGrain<IWorkerOperatorGrain>("gate-b").GetView()));
    }

    [Fact]
    public async Task An_agent_credential_reaches_no_operator_or_internal_method_and_changes_nothing()
    {
        var run = _cluster.Grains.GetGrain<IRunGrain>("gate-run");
        await run.Create(Specs.Quick());
        await run.Start();
        var victim = new ScriptedWorker(_cluster.Grains, "gate-victim");
        await victim.RegisterAsync(approve: false);
        var model = await _cluster.Grains.GetGrain<ILayerMapGrain>(0).GetModel();
        var runBefore = await run.GetView();

        var agent = await RegisteredAsync("gate-hostile");
        await _cluster.Grains.GetGrain<IWorkerOperatorGrain>("gate-hostile").Approve(); // even an approved agent

        var job = new JobRecord { JobId = "gate-run.train.r1.a1.gate-victim", RunId = "gate-run", WorkerId = "gate-victim", Round = 1 };
        var forbidden = new (string What, Func<Task> Call)[]
        {
            ("approve a pending worker", () => agent.GetGrain<IWorkerOperatorGrain>("gate-victim").Approve()),
            ("approve itself", () => agent.GetGrain<IWorkerOperatorGrain>("gate-hostile").Reject("no")),
            ("cancel a run", () => agent.GetGrain<IRunGrain>("gate-run").Cancel("hostile")),
            ("create a run", () => agent.GetGrain<IRunGrain>("gate-hostile-run").Create(Specs.Quick())),
            ("read a run", () => agent.GetGrain<IRunGrain>("gate-run").GetView()),
            ("complete another worker's job record", () => agent.GetGrain<IJobGrain>(job.JobId).Complete("gate-victim", new JobOutcome { Succeeded = true })),
            ("assign itself work", () => agent.GetGrain<IWorkerClusterGrain>("gate-hostile").SetLayers(new LayerRange(0, 1), model.Version)),
            ("reset a worker's token", () => agent.GetGrain<IWorkerTokenGrain>("gate-victim").Reset(new byte[32])),
            ("generate without the admin key", () => agent.GetGrain<IInferenceGrain>(0).Generate(new GenerationRequest { UserId = "u", PromptTokens = [1] })),
            ("read a blob no assignment names", () => agent.GetGrain<IBlobGrain>(model.PartHashes[0]).GrantTicket()),
            ("check a ticket", () => agent.GetGrain<IBlobGrain>(model.PartHashes[0]).CheckTicket(new byte[32])),
            ("change the network", () => agent.GetGrain<INetworkSettingsGrain>(0).SetReplication(3)),
            ("speak to a secure aggregation as another member", () => agent.GetGrain<ISecAggRoundGrain>(SecAggKeys.Round("gate-run", 1, 1)).Member("gate-victim", new SecAggRequest())),
            ("open a secure aggregation", () => agent.GetGrain<ISecAggRoundGrain>(SecAggKeys.Round("gate-run", 1, 1)).Open(
                new SecAggRoundConfig("gate-run", 1, 1, ["gate-hostile", "gate-victim"], 2, 10, 1, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(1)))),
        };
        foreach (var (what, call) in forbidden)
        {
            var refused = await Assert.ThrowsAnyAsync<Exception>(call);
            Assert.True(refused is RegattaException { Code: "forbidden" }, $"{what}: {refused.GetType().Name}: {refused.Message}");
        }

        // One-way: the refusal cannot come back; the gate counts it, and nothing reaches the run or the worker.
        using var refusals = new RefusalCounter();
        await agent.GetGrain<IRunGrain>("gate-run").OnJobClosed(job with { Status = JobStatus.Closed, Result = JobResult.Success });
        await agent.GetGrain<IWorkerClusterGrain>("gate-victim").SetRunMembership("gate-run", true);
        await Eventually.Until(() => Task.FromResult(refusals.Count), n => n >= 2, TimeSpan.FromSeconds(10), "the gate refused both one-way calls");

        // Through its own grain, another worker's job is still not its to complete.
        var viaOwn = await Assert.ThrowsAsync<RegattaException>(() =>
            agent.GetGrain<IWorkerGrain>("gate-hostile").Complete(job.JobId, new JobOutcome { Succeeded = true }));
        Assert.Equal("unknown_job", viaOwn.Code);
        // Nor is another worker's job its to speak for in a secure aggregation.
        var secAgg = await Assert.ThrowsAsync<RegattaException>(() =>
            agent.GetGrain<IWorkerGrain>("gate-hostile").SecAgg(job.JobId, new SecAggRequest()));
        Assert.Equal("unknown_job", secAgg.Code);

        Assert.Equal(ApprovalStatus.Pending, (await victim.Operator.GetView()).Approval);
        Assert.Equal(ApprovalStatus.Approved, (await _cluster.Grains.GetGrain<IWorkerOperatorGrain>("gate-hostile").GetView()).Approval);
        var runAfter = await run.GetView();
        Assert.Equal(runBefore.State, runAfter.State);
        Assert.Empty(await run.GetRounds());
        Assert.Empty((await victim.Operator.GetView()).Runs);
        Assert.Equal("", (await _cluster.Grains.GetGrain<IRunGrain>("gate-hostile-run").GetView()).RunId);
        Assert.Equal(1, (await _cluster.Grains.GetGrain<INetworkSettingsGrain>(0).Get()).Replication);
        Assert.Null((await _cluster.Grains.GetGrain<IWorkerOperatorGrain>("gate-hostile").GetView()).Layers);
    }

    /// <summary>Counts the gate's refusals (regatta.calls.refused) in this process, where the test cluster's silo runs.</summary>
    private sealed class RefusalCounter : IDisposable
    {
        private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
        private long _count;

        public RefusalCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == global::Regatta.Grains.Telemetry.RegattaMetrics.MeterName && instrument.Name == "regatta.calls.refused")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>What a refused call must leave as it was.</summary>
    private static (string, ApprovalStatus, Liveness, DateTimeOffset) Facts(WorkerView view) => (view.Name, view.Approval, view.Liveness, view.LastSeen);

    /// <summary>An agent that registered and keeps the credential it was issued, as the real agent does.</summary>
    private async Task<IClusterClient> RegisteredAsync(string workerId)
    {
        var (client, credential) = await ConnectAsync(workerId);
        credential.Store((await client.GetGrain<IWorkerGrain>(workerId).Register(Registration(workerId))).Credential!);
        return client;
    }

    /// <summary>Every method of the agent's surface, with harmless arguments.</summary>
    private static IEnumerable<Func<Task>> AgentCalls(IWorkerGrain worker) =>
    [
        () => worker.Heartbeat(new Heartbeat()),
        () => worker.NextAssignment(TimeSpan.Zero),
        () => worker.Complete("gate-run.train.r1.a1.x", new JobOutcome { Succeeded = true }),
        () => worker.Join("gate-run", null),
        () => worker.GetServingModel(),
        () => worker.Unregister(),
        () => worker.SecAgg("gate-run.train.r1.a1.x", new SecAggRequest()),
    ];

    private static WorkerRegistration Registration(string name) => new()
    {
        Name = name,
        Hardware = new Hardware { DeviceKind = "cpu", DeviceName = "test", CpuCores = 2, RamBytes = 1 << 30, AgentVersion = "test" },
    };

    /// <summary>An Orleans client exactly as the agent builds it, with its own cache folder (where its credential lives).</summary>
    private async Task<(IClusterClient Client, WorkerCredential Credential)> ConnectAsync(string workerId, string? cacheName = null)
    {
        var gateway = _cluster.Cluster.Primary!.GatewayAddress!.Endpoint;
        var host = AgentHost.Build(new AgentOptions
        {
            Coordinator = $"{gateway.Address}:{gateway.Port}",
            Name = workerId,
            WorkerId = workerId,
            CacheDir = Path.Combine(_cluster.DataDir, "agents", cacheName ?? workerId),
            SiloCertSha256 = _cluster.CertificateSha256,
        }, _ => { });
        await host.StartAsync();
        _agents.Add(host);
        return (host.Services.GetRequiredService<IClusterClient>(), host.Services.GetRequiredService<WorkerCredential>());
    }
}
