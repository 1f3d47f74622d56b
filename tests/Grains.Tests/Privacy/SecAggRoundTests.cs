using Microsoft.Extensions.Time.Testing;
using Regatta.Grains.Privacy;
using Regatta.Learning.Privacy.SecureAggregation;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Privacy;

/// <summary>
/// The coordinator's rules for one round's secure aggregation, on a fake clock: who may speak as which member, what
/// each member is told, when a phase closes (everyone it waits for answered or is gone, or its deadline passed), and
/// that fewer than t members fail the round with the reason while t survivors give their sum.
/// </summary>
public class SecAggRoundTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(10);
    private const int Length = 50;

    private sealed class Harness : IDisposable
    {
        public readonly FakeTimeProvider Time = new(T0);
        public readonly SecAggRound Round;
        public readonly List<string> Workers;
        public readonly Dictionary<string, SecAggMember> Members = new();
        public readonly Dictionary<string, float[]> Vectors = new();

        public Harness(int n, int threshold, TimeSpan? inputAfter = null)
        {
            Workers = Enumerable.Range(1, n).Select(i => $"w{i}").ToList();
            Round = new SecAggRound(new SecAggRoundConfig("run", 1, 1, Workers, threshold, Length, 1f, T0 + (inputAfter ?? TimeSpan.FromMinutes(1)), Phase), T0);
            var random = new Random(3);
            foreach (var w in Workers) Vectors[w] = Enumerable.Range(0, Length).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        }

        public DateTimeOffset Now => Time.GetUtcNow();
        public SecAggReply Send(string w, SecAggRequest r) => Round.Receive(w, r, Now);
        public SecAggReply Poll(string w) => Send(w, new SecAggRequest());

        public void Advertise(string w)
        {
            var reply = Poll(w);
            var member = Members[w] = new SecAggMember(reply.Index, new SecAggSettings(reply.Threshold, reply.Length, reply.Range, reply.MaxMembers));
            var keys = member.Advertise();
            Assert.Null(Send(w, new SecAggRequest { Step = SecAggStep.Advertise, CipherKey = keys.CipherKey, MaskKey = keys.MaskKey }).Refusal);
        }

        public void Share(string w)
        {
            var roster = Poll(w).Roster!.Select(a => new SecAggAdvertisement(a.Member, a.CipherKey, a.MaskKey)).ToList();
            var shares = Members[w].ShareKeys(roster).Select(s => new SecAggSealedShare(s.From, s.To, s.Sealed)).ToList();
            Assert.Null(Send(w, new SecAggRequest { Step = SecAggStep.Share, Shares = shares }).Refusal);
        }

        public void Input(string w)
        {
            var received = Poll(w).SharesForYou!.Select(s => new SecAggEncryptedShare(s.From, s.To, s.Sealed)).ToList();
            Assert.Null(Send(w, new SecAggRequest { Step = SecAggStep.Input, Masked = Members[w].MaskedInput(Vectors[w], received).Masked }).Refusal);
        }

        public void Unmask(string w)
        {
            var shares = Members[w].Unmask(Poll(w).Survivors!);
            Assert.Null(Send(w, new SecAggRequest { Step = SecAggStep.Unmask, SeedShares = new(shares.SeedShares), KeyShares = new(shares.KeyShares) }).Refusal);
        }

        public void Dispose()
        {
            foreach (var m in Members.Values) m.Dispose();
        }
    }

    [Fact]
    public void Phases_close_as_soon_as_every_member_answered_and_t_survivors_give_their_sum()
    {
        using var h = new Harness(3, threshold: 2);
        foreach (var w in h.Workers) h.Advertise(w);
        Assert.Equal(SecAggRoundPhase.ShareKeys, h.Round.Phase);
        foreach (var w in h.Workers) h.Share(w);
        Assert.Equal(SecAggRoundPhase.MaskedInput, h.Round.Phase);
        foreach (var w in h.Workers) h.Input(w);
        Assert.Equal(SecAggRoundPhase.Unmasking, h.Round.Phase);
        foreach (var w in h.Workers) h.Unmask(w);
        Assert.Equal(SecAggRoundPhase.Done, h.Round.Phase);
        var result = h.Round.TakeResult();
        Assert.NotNull(result);
        Assert.Null(result.Failure);
        Assert.Equal(h.Workers, result.Survivors);
        for (var i = 0; i < Length; i++)
            Assert.Equal(h.Workers.Sum(w => (double)h.Vectors[w][i]), result.Sum![i], 1e-5);
        Assert.Null(h.Round.TakeResult()); // handed over once
        Assert.Equal(SecAggRoundPhase.Done, h.Poll("w1").Phase);
    }

    [Fact]
    public void A_phase_waits_for_a_silent_member_until_its_deadline_then_goes_on_without_it()
    {
        using var h = new Harness(3, threshold: 2);
        h.Advertise("w1");
        h.Advertise("w2");
        h.Time.Advance(Phase - TimeSpan.FromMilliseconds(1));
        Assert.False(h.Round.Tick(h.Now));
        Assert.Equal(SecAggRoundPhase.AdvertiseKeys, h.Round.Phase);
        h.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(h.Round.Tick(h.Now));
        Assert.Equal(SecAggRoundPhase.ShareKeys, h.Round.Phase);
        Assert.Equal([1, 2], h.Poll("w3").Roster!.Select(a => a.Member));
        Assert.NotNull(h.Send("w3", new SecAggRequest { Step = SecAggStep.Share }).Refusal); // too late to join
    }

    [Fact]
    public void The_masked_input_phase_waits_for_the_rounds_input_deadline_not_only_a_phase()
    {
        using var h = new Harness(3, threshold: 2, inputAfter: TimeSpan.FromMinutes(2));
        foreach (var w in h.Workers) h.Advertise(w);
        foreach (var w in h.Workers) h.Share(w);
        h.Input("w1");
        h.Input("w2");
        h.Time.Advance(Phase * 3); // long past one phase timeout, still before the round's input deadline
        Assert.False(h.Round.Tick(h.Now));
        Assert.Equal(SecAggRoundPhase.MaskedInput, h.Round.Phase);
        h.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.True(h.Round.Tick(h.Now));
        Assert.Equal([1, 2], h.Poll("w1").Survivors);
        h.Unmask("w1");
        h.Unmask("w2");
        var result = h.Round.TakeResult()!;
        Assert.Equal(["w1", "w2"], result.Survivors);
        Assert.Equal(["w3"], result.Dropped);
        for (var i = 0; i < Length; i++) Assert.Equal(h.Vectors["w1"][i] + (double)h.Vectors["w2"][i], result.Sum![i], 1e-5);
    }

    [Fact]
    public void A_member_gone_is_not_waited_for()
    {
        using var h = new Harness(3, threshold: 2);
        foreach (var w in h.Workers) h.Advertise(w);
        foreach (var w in h.Workers) h.Share(w);
        h.Input("w1");
        h.Input("w2");
        Assert.Equal(SecAggRoundPhase.MaskedInput, h.Round.Phase);
        h.Round.Gone("w3", h.Now);
        Assert.Equal(SecAggRoundPhase.Unmasking, h.Round.Phase);
    }

    [Fact]
    public void Fewer_than_t_members_fail_the_round_with_the_reason_and_no_sum()
    {
        using var h = new Harness(3, threshold: 3);
        foreach (var w in h.Workers) h.Advertise(w);
        foreach (var w in h.Workers) h.Share(w);
        h.Input("w1");
        h.Input("w2");
        h.Time.Advance(TimeSpan.FromMinutes(1));
        h.Round.Tick(h.Now);
        Assert.Equal(SecAggRoundPhase.Failed, h.Round.Phase);
        var result = h.Round.TakeResult()!;
        Assert.Null(result.Sum);
        Assert.Equal("secure aggregation: 2 of 3 members sent a masked input, fewer than the threshold 3", result.Failure);
        Assert.Equal(SecAggRoundPhase.Failed, h.Poll("w1").Phase);
        Assert.Empty(h.Round.Held().Where(b => b.Length == 4 * Length)); // the failed round's masked sum is dropped
    }

    [Fact]
    public void A_member_is_told_only_what_is_addressed_to_it_and_no_one_else_may_speak()
    {
        using var h = new Harness(3, threshold: 2);
        Assert.Equal("forbidden", Assert.Throws<RegattaException>(() => h.Poll("intruder")).Code);
        foreach (var w in h.Workers) h.Advertise(w);
        foreach (var w in h.Workers) h.Share(w);
        foreach (var w in h.Workers)
        {
            var reply = h.Poll(w);
            Assert.All(reply.SharesForYou!, s => Assert.Equal(reply.Index, s.To));
            Assert.Equal(2, reply.SharesForYou!.Count);
        }
        // w1 cannot pass a masked input off as w2's: the member index is the caller's, and a second input is refused.
        h.Input("w1");
        var again = h.Send("w1", new SecAggRequest { Step = SecAggStep.Input, Masked = new uint[Length] });
        Assert.Contains("already sent", again.Refusal);
    }

    [Fact]
    public void A_threshold_above_the_members_fails_the_round_at_once()
    {
        using var h = new Harness(2, threshold: 3);
        Assert.Equal(SecAggRoundPhase.Failed, h.Round.Phase);
        Assert.Contains("exceeds", h.Round.TakeResult()!.Failure);
    }
}
