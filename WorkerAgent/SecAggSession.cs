using Microsoft.Extensions.Logging;
using Regatta.Learning.Privacy.SecureAggregation;
using Regatta.Runs;
using Regatta.Jobs;
using Regatta.Workers;

namespace Regatta.WorkerAgent;

/// <summary>
/// This member's side of a round's secure aggregation, spoken through its own worker grain: advertise keys and share
/// secrets before training, then send the masked vector and answer the unmasking. Waits for each phase by polling
/// (the coordinator closes phases on its own deadlines) and gives up when the job's deadline and the protocol's
/// phases are past. Never sends the clean vector anywhere.
/// </summary>
public sealed class SecAggSession(Assignment job, Func<string, SecAggRequest, Task<SecAggReply>> send, ILogger logger) : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private SecAggMember? _member;
    private SecAggReply? _last;

    public SecAggReply? Last => _last;
    /// <summary>The agreed vector length (weight × update, then the weight).</summary>
    public int Length => _last?.Length ?? 0;

    private DateTimeOffset GiveUpAt => job.Deadline + 4 * job.Spec.Privacy.SecAggPhaseTimeout;

    /// <summary>Phases 0 and 1: learns its index and the settings, advertises its keys, waits for the roster and shares its secrets.</summary>
    public async Task ShareKeys(CancellationToken ct)
    {
        var reply = await WaitFor(r => r.Phase != SecAggRoundPhase.Opening, ct);
        _member = new SecAggMember(reply.Index, new SecAggSettings(reply.Threshold, reply.Length, reply.Range, reply.MaxMembers));
        var keys = _member.Advertise();
        Taken(await Send(new SecAggRequest { Step = SecAggStep.Advertise, CipherKey = keys.CipherKey, MaskKey = keys.MaskKey }));
        reply = await WaitFor(r => r.Phase != SecAggRoundPhase.AdvertiseKeys, ct);
        Check(reply, SecAggRoundPhase.ShareKeys);
        var roster = reply.Roster!.Select(a => new SecAggAdvertisement(a.Member, a.CipherKey, a.MaskKey)).ToList();
        var shares = _member.ShareKeys(roster).Select(s => new SecAggSealedShare(s.From, s.To, s.Sealed)).ToList();
        Taken(await Send(new SecAggRequest { Step = SecAggStep.Share, Shares = shares }));
        logger.LogInformation("{JobId}: secure aggregation keys shared as member {Index} of {Members}", job.JobId, reply.Index, roster.Count);
    }

    /// <summary>Phases 2 and 3: masks the vector, sends it, answers the unmasking; returns when the round is done.</summary>
    public async Task Contribute(float[] vector, CancellationToken ct)
    {
        var member = _member ?? throw new InvalidOperationException("keys were not shared");
        var reply = await WaitFor(r => r.Phase != SecAggRoundPhase.ShareKeys, ct);
        Check(reply, SecAggRoundPhase.MaskedInput);
        var received = reply.SharesForYou!.Select(s => new SecAggEncryptedShare(s.From, s.To, s.Sealed)).ToList();
        var masked = member.MaskedInput(vector, received);
        Taken(await Send(new SecAggRequest { Step = SecAggStep.Input, Masked = masked.Masked }));
        reply = await WaitFor(r => r.Phase != SecAggRoundPhase.MaskedInput, ct);
        Check(reply, SecAggRoundPhase.Unmasking);
        var unmask = member.Unmask(reply.Survivors!);
        var answer = await Send(new SecAggRequest
        {
            Step = SecAggStep.Unmask,
            SeedShares = new(unmask.SeedShares),
            KeyShares = new(unmask.KeyShares),
        });
        if (answer is null) return; // the run closed this job: the round is done with it
        Taken(answer);
        await WaitFor(r => r.Phase is SecAggRoundPhase.Done or SecAggRoundPhase.Failed, ct);
        if (_last is { Phase: SecAggRoundPhase.Failed } failed) throw new SecAggException(failed.Failure ?? "secure aggregation failed");
    }

    /// <summary>Sends one message; null when the job is no longer open (the run closed it: the round moved on).</summary>
    private async Task<SecAggReply?> Send(SecAggRequest request)
    {
        try
        {
            return _last = await send(job.JobId, request);
        }
        catch (RegattaException e) when (e.Code == "unknown_job")
        {
            return null;
        }
    }

    /// <summary>The message was taken (the phase may have moved on at once, when it was the last one awaited).</summary>
    private static void Taken(SecAggReply? reply)
    {
        if (reply is null) throw new SecAggException("the job was closed by the run before this member finished");
        if (reply.Refusal is not null) throw new SecAggException("refused: " + reply.Refusal);
        if (reply.Phase == SecAggRoundPhase.Failed) throw new SecAggException(reply.Failure ?? "secure aggregation failed");
    }

    private static void Check(SecAggReply? reply, SecAggRoundPhase expected)
    {
        if (reply is null) throw new SecAggException("the job was closed by the run before this member finished");
        if (reply.Phase == SecAggRoundPhase.Failed) throw new SecAggException(reply.Failure ?? "secure aggregation failed");
        if (reply.Refusal is not null) throw new SecAggException("refused: " + reply.Refusal);
        if (reply.Phase != expected) throw new SecAggException($"the round is in phase {reply.Phase}, this member in {expected}");
    }

    /// <summary>Polls until <paramref name="done"/> holds, the round failed, or the job is gone. A closed job after the last phase ends the wait.</summary>
    private async Task<SecAggReply> WaitFor(Func<SecAggReply, bool> done, CancellationToken ct)
    {
        while (true)
        {
            var reply = await Send(new SecAggRequest { Step = SecAggStep.Poll });
            if (reply is null)
            {
                // The run closes a survivor's job as soon as the sum is in: that is the end of a finished round.
                if (_last is { Phase: SecAggRoundPhase.Unmasking }) return _last with { Phase = SecAggRoundPhase.Done };
                throw new SecAggException("the job was closed by the run before this member finished");
            }
            if (done(reply) || reply.Phase == SecAggRoundPhase.Failed) return reply;
            if (DateTimeOffset.UtcNow > GiveUpAt) throw new SecAggException($"secure aggregation still in phase {reply.Phase} past the job's deadline");
            await Task.Delay(PollInterval, ct);
        }
    }

    public void Dispose() => _member?.Dispose();
}
