using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Regatta.Grains.Models;

/// <summary>
/// Deletes abandoned partial uploads from the blob store every <see cref="CoordinatorOptions.UploadSweepInterval"/>:
/// a hostile or broken agent can start uploads and never finish them, and their bytes would otherwise stay on disk (or
/// in the database) for good. An upload not written for <see cref="CoordinatorOptions.AbandonedUploadAge"/> is dropped.
/// </summary>
public sealed class UploadSweeper(IBlobStore blobs, IOptions<CoordinatorOptions> options, TimeProvider time, ILogger<UploadSweeper> logger)
    : BackgroundService
{
    /// <summary>Completes after each pass with the number of uploads it dropped (for tests: no polling, no sleeps).</summary>
    public event Action<int>? Swept;

    /// <summary>One pass: drops what was not written for the configured age, as of now.</summary>
    public async Task<int> SweepOnceAsync()
    {
        var swept = await blobs.SweepAbandonedAsync(time.GetUtcNow() - options.Value.AbandonedUploadAge);
        if (swept > 0)
            logger.LogInformation("Deleted {Count} abandoned partial uploads (not written for {Age})", swept, options.Value.AbandonedUploadAge);
        return swept;
    }

    private PeriodicTimer? _timer;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Made here, not in ExecuteAsync (which runs on a thread of its own): the timer counts from the start.
        _timer = new PeriodicTimer(options.Value.UploadSweepInterval, time);
        return base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _timer?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timer = _timer!;
        while (await WaitAsync(timer, stoppingToken))
        {
            var swept = 0;
            try
            {
                swept = await SweepOnceAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Sweeping abandoned uploads failed; trying again in {Interval}", options.Value.UploadSweepInterval);
            }
            Swept?.Invoke(swept);
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
