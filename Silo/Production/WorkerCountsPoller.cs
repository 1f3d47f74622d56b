using Regatta.Grains.Telemetry;
using Regatta.Workers;

namespace Regatta.Silo.Production;

/// <summary>
/// Feeds the cluster-wide worker gauges: reads the worker registry's counts now and then. Counting in the registry
/// (not by up/down counters in worker grains) keeps the numbers right when grains move between silos.
/// </summary>
internal sealed class WorkerCountsPoller(IGrainFactory grains, ILogger<WorkerCountsPoller> logger) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        do
        {
            try
            {
                RegattaMetrics.SetWorkerCounts(await grains.GetGrain<IWorkerRegistryGrain>(0).Counts().WaitAsync(stoppingToken));
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogDebug(e, "Worker counts not read this time");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
