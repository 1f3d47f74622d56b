using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Regatta.Grains;
using Regatta.Storage;
using Regatta.Workers;

namespace Regatta.Benchmarks.Scenarios;

/// <summary>
/// Memory per idle, registered worker: an in-process silo (localhost clustering, Regatta's SQLite store in a
/// temporary folder) registers and approves N workers, then the managed heap after a full blocking GC is
/// compared with the heap before (after a warm-up batch, so code, caches and the registry grain are already
/// there). The delta / N counts everything one more worker costs the silo: its WorkerGrain activation and state,
/// Orleans' catalog entry, and its row in the worker registry grain. Baseline, the same way: N benchmark grains each
/// activated with one stored record (what any stored grain costs). Target ≤ 4 KB per worker.
/// </summary>
public static class IdleWorkerScenario
{
    public static async Task<IReadOnlyList<BenchmarkResult>> RunAsync(int workers)
    {
        var dataDir = Directory.CreateTempSubdirectory("regatta-bench-").FullName;
        try
        {
            using var host = Host.CreateDefaultBuilder()
                .ConfigureLogging(l => l.ClearProviders().SetMinimumLevel(LogLevel.Error).AddConsole())
                .UseOrleans(silo =>
                {
                    silo.UseLocalhostClustering();
                    silo.Services.Configure<CoordinatorOptions>(_ => { });
                    silo.Services.AddRegattaCoordinator();
                    silo.AddRegattaSqliteStorage(dataDir, StoreNames.Regatta);
                })
                .Build();
            await host.StartAsync();
            var grains = host.Services.GetRequiredService<IGrainFactory>();

            await RegisterAsync(grains, "warm", Math.Min(100, workers));
            var before = Heap();
            await RegisterAsync(grains, "bench", workers);
            var after = Heap();
            var perWorker = (double)(after - before) / workers;
            // Baseline, measured the same way: N grains each activated with one stored record.
            await Task.WhenAll(Enumerable.Range(0, Math.Min(100, workers)).Select(i => grains.GetGrain<Scenarios.IStoredNoopGrain>($"warm-{i}").Touch("warm")));
            var beforeNoop = Heap();
            using (var gate = new SemaphoreSlim(64))
                await Task.WhenAll(Enumerable.Range(0, workers).Select(async i =>
                {
                    await gate.WaitAsync();
                    try { await grains.GetGrain<Scenarios.IStoredNoopGrain>($"bench-{i}").Touch($"bench-{i}"); }
                    finally { gate.Release(); }
                }));
            var perNoop = (double)(Heap() - beforeNoop) / workers;
            Console.WriteLine($"  idle workers: {workers} registered, heap +{(after - before) / 1e6:F1} MB, {perWorker:F0} bytes each; stored no-op grains {perNoop:F0} bytes each");
            await host.StopAsync();
            return
            [
                BenchmarkResult.Compare($"Idle registered WorkerGrain, N={workers} (in-process silo, SQLite)", perWorker, perNoop, "bytes/worker",
                    "≤ 4096 bytes", _ => perWorker <= 4096,
                    "baseline: a no-op grain activated with one stored record; heap delta after full GC / N, ours includes the registry entry"),
            ];
        }
        finally
        {
            try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task RegisterAsync(IGrainFactory grains, string prefix, int count)
    {
        // A few dozen calls in flight keep both cores busy; the registry shards absorb them (see RegistrationStormScenario).
        using var gate = new SemaphoreSlim(64);
        var tasks = Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var grain = grains.GetGrain<IWorkerGrain>($"{prefix}-{i}");
                var view = await grain.Register(new WorkerRegistration
                {
                    Name = $"{prefix}-{i}",
                    Hardware = new Hardware { DeviceKind = "cpu", DeviceName = "bench", CpuCores = 2, RamBytes = 1 << 30, AgentVersion = "bench" },
                });
                if (view.View.Approval == ApprovalStatus.Pending) await grains.GetGrain<IWorkerOperatorGrain>($"{prefix}-{i}").Approve();
            }
            finally { gate.Release(); }
        });
        await Task.WhenAll(tasks);
    }

    private static long Heap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: false);
    }
}
