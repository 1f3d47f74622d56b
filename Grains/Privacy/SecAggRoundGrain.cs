using Microsoft.Extensions.Logging;
using Regatta.Runs;

namespace Regatta.Grains.Privacy;

/// <summary>
/// A round attempt's secure aggregation (key "{runId}/{round}/{attempt}"): holds a <see cref="SecAggRound"/> in memory
/// only (nothing is persisted: a lost activation fails the attempt by the run's deadline, and it is retried), takes
/// members' messages from their own worker grains, closes phases on a timer, and sends the outcome (the survivors'
/// sum, or why it failed) to the run once. Logs phases and counts, never keys, shares or vectors.
/// </summary>
public sealed class SecAggRoundGrain(TimeProvider time, ILogger<SecAggRoundGrain> logger) : Grain, ISecAggRoundGrain
{
    private SecAggRound? _round;
    private SecAggRoundConfig? _config;
    private IGrainTimer? _timer;

    public async Task Open(SecAggRoundConfig config)
    {
        if (_round is not null) return;
        if (config.RunId.Length == 0 || SecAggKeys.Round(config.RunId, config.Round, config.Attempt) != this.GetPrimaryKeyString())
            throw new RegattaException("bad_request", "the configuration is for another round");
        _config = config;
        _round = new SecAggRound(config, time.GetUtcNow());
        logger.LogInformation("Secure aggregation {Key} opened: {Members} members, threshold {Threshold}, {Length} values",
            this.GetPrimaryKeyString(), config.Members.Count, config.Threshold, config.Length);
        var period = TimeSpan.FromTicks(Math.Clamp(config.PhaseTimeout.Ticks / 20, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(1).Ticks));
        _timer = this.RegisterGrainTimer(_ => Tick(), new GrainTimerCreationOptions { DueTime = period, Period = period, KeepAlive = true });
        await Report();
    }

    public async Task<SecAggReply> Member(string workerId, SecAggRequest request)
    {
        if (_round is null) return new SecAggReply { Phase = SecAggRoundPhase.Opening };
        var before = _round.Phase;
        var reply = _round.Receive(workerId, request, time.GetUtcNow());
        if (reply.Refusal is not null)
            logger.LogWarning("Secure aggregation {Key}: {Step} from {WorkerId} refused: {Reason}", this.GetPrimaryKeyString(), request.Step, workerId, reply.Refusal);
        if (_round.Phase != before) await Report();
        return reply;
    }

    public async Task Gone(string workerId)
    {
        if (_round is null) return;
        _round.Gone(workerId, time.GetUtcNow());
        await Report();
    }

    private async Task Tick()
    {
        if (_round is { } round && round.Tick(time.GetUtcNow())) await Report();
    }

    /// <summary>Logs the phase and, once the round ended, hands the outcome to the run and stops the timer.</summary>
    private async Task Report()
    {
        if (_round is not { } round || _config is not { } config) return;
        logger.LogInformation("Secure aggregation {Key} in phase {Phase}", this.GetPrimaryKeyString(), round.Phase);
        if (round.TakeResult() is not { } result) return;
        _timer?.Dispose();
        _timer = null;
        if (result.Failure is null)
            logger.LogInformation("Secure aggregation {Key} done: {Survivors} survivors, {Dropped} dropped out",
                this.GetPrimaryKeyString(), result.Survivors.Count, result.Dropped.Count);
        else
            logger.LogWarning("Secure aggregation {Key} failed: {Reason}", this.GetPrimaryKeyString(), result.Failure);
        await GrainFactory.GetGrain<IRunGrain>(config.RunId).OnSecAggFinished(result);
    }
}
