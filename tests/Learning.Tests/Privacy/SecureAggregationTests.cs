using System.Runtime.InteropServices;
using Regatta.Learning.Privacy.SecureAggregation;

namespace Regatta.Learning.Tests.Privacy;

/// <summary>
/// The pairwise-masking protocol run in-process: the unmasked sum equals the plain sum within the fixed-point
/// tolerance whoever drops out, as long as t members stay; fewer fail the round with the reason; the coordinator
/// never holds one member's update.
/// </summary>
public class SecureAggregationTests
{
    private const int Length = 1000;

    private static Dictionary<int, float[]> Updates(int n, int seed = 1)
    {
        var random = new Random(seed);
        return Enumerable.Range(1, n).ToDictionary(m => m, _ => Enumerable.Range(0, Length).Select(_ => (float)(random.NextDouble() * 1.8 - 0.9)).ToArray());
    }

    private static SecAggSettings Settings(int threshold, int maxMembers = 16) => new(threshold, Length, Range: 1f, maxMembers);

    private static void AssertSum(SecAggSettings settings, Dictionary<int, float[]> updates, SecAggSum? sum, IReadOnlyCollection<int> expected)
    {
        Assert.NotNull(sum);
        Assert.Equal(expected.Order(), sum.Survivors);
        // Tolerance: half a step per member, plus float32 rounding of the decoded value.
        var tolerance = settings.Encoding.Tolerance(expected.Count) + 1e-5;
        for (var i = 0; i < Length; i++)
        {
            var plain = expected.Sum(m => (double)updates[m][i]);
            Assert.True(Math.Abs(plain - sum.Sum[i]) <= tolerance, $"value {i}: unmasked {sum.Sum[i]}, plain sum {plain}");
        }
    }

    [Fact]
    public void Without_dropouts_the_unmasked_sum_is_the_plain_sum()
    {
        var settings = Settings(threshold: 3);
        var updates = Updates(5);
        var outcome = SecAggSimulation.Run(settings, updates);
        AssertSum(settings, updates, outcome.Sum, [1, 2, 3, 4, 5]);
        Assert.Empty(outcome.Sum!.Dropped);
        Assert.Equal(SecAggPhase.Done, outcome.Coordinator.Phase);
    }

    [Fact]
    public void One_member_dropping_after_sharing_its_keys_is_unmasked_from_the_others_shares()
    {
        var settings = Settings(threshold: 3);
        var updates = Updates(5, seed: 2);
        // Member 3's pairwise masks are in every other member's input; its mask key is rebuilt to cancel them.
        var outcome = SecAggSimulation.Run(settings, updates, new Dictionary<int, SecAggPhase> { [3] = SecAggPhase.MaskedInput });
        AssertSum(settings, updates, outcome.Sum, [1, 2, 4, 5]);
        Assert.Equal([3], outcome.Sum!.Dropped);
    }

    [Fact]
    public void N_minus_t_dropouts_mid_round_still_give_the_survivors_sum()
    {
        var settings = Settings(threshold: 4);
        var updates = Updates(8, seed: 3);
        // Four of eight drop at every stage after the keys are out: 2 before their input, 1 (whose input counts) before
        // the unmasking, 1 before even sharing; four remain to unmask, exactly t.
        var drops = new Dictionary<int, SecAggPhase>
        {
            [2] = SecAggPhase.MaskedInput, [7] = SecAggPhase.MaskedInput, [5] = SecAggPhase.Unmasking, [8] = SecAggPhase.ShareKeys,
        };
        var outcome = SecAggSimulation.Run(settings, updates, drops);
        AssertSum(settings, updates, outcome.Sum, [1, 3, 4, 5, 6]);
        Assert.Equal([2, 7], outcome.Sum!.Dropped);
    }

    [Theory]
    [InlineData(SecAggPhase.AdvertiseKeys, "2 of 5 members advertised keys")]
    [InlineData(SecAggPhase.MaskedInput, "2 of 5 members sent a masked input")]
    [InlineData(SecAggPhase.Unmasking, "2 of 5 members answered the unmasking")]
    public void Fewer_than_t_survivors_fail_the_round_with_the_reason_and_drop_the_masked_sum(SecAggPhase phase, string reason)
    {
        var settings = Settings(threshold: 3);
        var outcome = SecAggSimulation.Run(settings, Updates(5), new Dictionary<int, SecAggPhase> { [1] = phase, [2] = phase, [4] = phase });
        Assert.Null(outcome.Sum);
        Assert.Equal(SecAggPhase.Failed, outcome.Coordinator.Phase);
        Assert.Equal($"secure aggregation: {reason}, fewer than the threshold 3", outcome.Coordinator.Failure);
        Assert.DoesNotContain(outcome.Coordinator.Held(), b => b.Length == 4 * Length);
    }

    [Fact]
    public void The_coordinator_never_holds_a_members_update()
    {
        var settings = Settings(threshold: 3);
        var updates = Updates(5, seed: 4);
        var held = new List<byte[]>();
        var outcome = SecAggSimulation.Run(settings, updates, new Dictionary<int, SecAggPhase> { [5] = SecAggPhase.MaskedInput },
            observe: c => held.AddRange(c.Held().Select(b => b.ToArray())));
        Assert.NotNull(outcome.Sum);
        Assert.NotEmpty(held);
        var bytes = held.SelectMany(b => b).ToArray();
        foreach (var (m, update) in updates)
        {
            // Neither the float update nor its fixed-point encoding, at any offset, in any 16-byte window of it.
            var encoded = settings.Encoding.Encode(update);
            for (var offset = 0; offset + 4 <= Length; offset += 50)
            {
                Assert.True(bytes.AsSpan().IndexOf(MemoryMarshal.AsBytes(update.AsSpan(offset, 4))) < 0, $"member {m}'s update is in the coordinator's data");
                Assert.True(bytes.AsSpan().IndexOf(MemoryMarshal.AsBytes(encoded.AsSpan(offset, 4))) < 0, $"member {m}'s encoded update is in the coordinator's data");
            }
        }
        // What was searched is what the coordinator really holds: the last buffer of update length is the sum it unmasked.
        var last = held.Last(b => b.Length == 4 * Length);
        Assert.Equal(outcome.Sum!.Sum, settings.Encoding.DecodeSum(MemoryMarshal.Cast<byte, uint>(last), 4));
    }

    /// <summary>Members 1, 2 and 3 and the roster of their advertised keys.</summary>
    private sealed record Three(SecAggMember A, SecAggMember B, SecAggMember C, SecAggAdvertisement[] Roster) : IDisposable
    {
        public static Three Of(SecAggSettings settings)
        {
            var (a, b, c) = (new SecAggMember(1, settings), new SecAggMember(2, settings), new SecAggMember(3, settings));
            return new Three(a, b, c, [a.Advertise(), b.Advertise(), c.Advertise()]);
        }

        public void Dispose()
        {
            A.Dispose();
            B.Dispose();
            C.Dispose();
        }
    }

    [Fact]
    public void A_member_refuses_to_unmask_below_the_threshold_or_twice()
    {
        using var three = Three.Of(Settings(threshold: 3));
        var (a, b, c, roster) = three;
        var shares = new[] { a, b, c }.SelectMany(m => m.ShareKeys(roster)).ToList();
        a.MaskedInput(new float[Length], shares.Where(s => s.To == 1).ToList());
        Assert.Contains("fewer than the threshold", Assert.Throws<SecAggException>(() => a.Unmask([1, 2])).Message);
        a.Unmask([1, 2, 3]);
        Assert.Contains("already answered", Assert.Throws<SecAggException>(() => a.Unmask([1, 2, 3])).Message);
    }

    [Fact]
    public void A_share_altered_in_transit_or_readdressed_does_not_open()
    {
        var settings = Settings(threshold: 2);
        using var three = Three.Of(settings);
        var (a, b, c, roster) = three;
        var fromB = b.ShareKeys(roster).Single(s => s.To == 1);
        a.ShareKeys(roster);
        var altered = fromB with { Sealed = fromB.Sealed.ToArray() };
        altered.Sealed[^1] ^= 1;
        Assert.Contains("does not open", Assert.Throws<SecAggException>(() => a.MaskedInput(new float[Length], [altered])).Message);
        // The share c sealed for b, relabelled as one from c to a: the key and the route differ.
        var forB = c.ShareKeys(roster).Single(s => s.To == 2);
        using var fresh = new SecAggMember(1, settings);
        Assert.Throws<SecAggException>(() => fresh.MaskedInput(new float[Length], [forB with { To = 1 }]));
    }

    [Fact]
    public void The_coordinator_refuses_messages_out_of_turn_and_incomplete_share_sets()
    {
        var settings = Settings(threshold: 2);
        var coordinator = new SecAggCoordinator(settings, [1, 2, 3]);
        using var a = new SecAggMember(1, settings);
        Assert.Equal("the round is in phase AdvertiseKeys, not MaskedInput", coordinator.Receive(new SecAggMaskedInput(1, new uint[Length])));
        Assert.Equal("member 9 is not in this round", coordinator.Receive(new SecAggAdvertisement(9, [1], [2])));
        Assert.StartsWith("member 2: public key", coordinator.Receive(new SecAggAdvertisement(2, [1, 2, 3], [4])));
        using var b = new SecAggMember(2, settings);
        using var c = new SecAggMember(3, settings);
        foreach (var m in new[] { a, b, c }) Assert.Null(coordinator.Receive(m.Advertise()));
        var roster = coordinator.CloseAdvertising()!;
        var shares = a.ShareKeys(roster);
        Assert.Equal("member 1 must send exactly one share from itself to every other advertised member", coordinator.Receive(1, shares.Take(1).ToList()));
        Assert.Null(coordinator.Receive(1, shares));
        Assert.Equal("member 1 already shared its keys", coordinator.Receive(1, shares));
        Assert.Equal([2, 3], coordinator.Pending.Order());
    }

    [Fact]
    public void Shamir_rebuilds_from_any_t_shares_and_not_from_fewer()
    {
        var secret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var shares = ShamirSharing.Split(secret, 3, [1, 2, 5, 9, 40]);
        Assert.Equal(ShamirSharing.ShareLength(32), shares[1].Length);
        foreach (var subset in new[] { new[] { 1, 2, 5 }, [9, 40, 2], [40, 5, 1, 9] })
            Assert.Equal(secret, ShamirSharing.Combine(subset.Select(x => (x, shares[x])).ToList(), 32));
        var two = new[] { 1, 2 }.Select(x => (x, shares[x])).ToList();
        Assert.ThrowsAny<Exception>(() => Assert.Equal(secret, ShamirSharing.Combine(two, 32)));
    }

    [Fact]
    public void Fixed_point_sums_of_the_most_members_cannot_wrap_and_decode_within_half_a_step_each()
    {
        var encoding = new FixedPoint(range: 2f, maxMembers: 100);
        Assert.True((ulong)encoding.Top * 100 <= uint.MaxValue);
        var top = encoding.Encode([5f, 2f, -2f, -7f, 0.25f]);
        Assert.Equal([encoding.Top, encoding.Top, 0u, 0u], top[..4]); // clipped to [−2, 2]
        var sum = new uint[1];
        for (var i = 0; i < 100; i++) sum[0] += encoding.Encode([2f])[0];
        Assert.Equal(200f, encoding.DecodeSum(sum, 100)[0], 1e-3f);
        Assert.Equal(0.25, encoding.DecodeSum([top[4]], 1)[0], encoding.Tolerance(1) + 1e-7);
    }

    [Fact]
    public void The_prg_is_a_function_of_the_seed_and_subtracting_undoes_adding()
    {
        var seed = new byte[32];
        seed[0] = 7;
        var one = new uint[70_000];
        var two = new uint[70_000];
        SecAggCrypto.AddMask(one, seed);
        SecAggCrypto.AddMask(two, seed);
        Assert.Equal(one, two);
        Assert.True(one.Distinct().Count() > 69_000); // uniform over 2^32: almost no repeats
        seed[31] = 1;
        SecAggCrypto.AddMask(two, seed, subtract: true);
        Assert.NotEqual(new uint[70_000], two);
        SecAggCrypto.AddMask(two, seed);
        Assert.Equal(one, two);
    }
}
