using Regatta.Grains.Runs;
using Regatta.Learning.Weights;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>
/// The candidate from a secure aggregate: the weighted sum over the summed weight, applied as any round's mean delta;
/// with central DP the noise goes once onto the sum (σ·clipNorm), so the mean carries σ·clipNorm / n.
/// </summary>
public sealed class SecAggCandidateTests(CoordinatorDisk disk) : IClassFixture<CoordinatorDisk>
{
    private static RunSpec Spec(DpSpec? dp = null) => RoundCandidatesTests.Spec() with
    {
        // A wider model, so the noise's standard deviation is measured on enough values.
        Model = new ModelSpec { Name = "mlp", Parameters = new() { ["inputs"] = 64, ["hidden"] = 128, ["classes"] = 10 } },
        Privacy = new PrivacySpec { SecureAggregation = true, Dp = dp },
    };

    /// <summary>Three members: weights 0.5, 1, 0.25 over deltas 0.01, 0.02, 0.04 (as their masked vectors sum).</summary>
    private static float[] Sum(int length)
    {
        var sum = new float[length + 1];
        (float W, float U)[] members = [(0.5f, 0.01f), (1f, 0.02f), (0.25f, 0.04f)];
        foreach (var (w, u) in members)
        {
            for (var i = 0; i < length; i++) sum[i] += w * u;
            sum[length] += w;
        }
        return sum;
    }

    [Fact]
    public async Task The_candidate_is_the_global_plus_the_weighted_mean_of_the_summed_vectors()
    {
        var data = await RoundCandidatesTests.RunInRound(disk.Blobs, disk.Models, Spec());
        var global = ModelWeights.FromBytes(await disk.Blobs.ReadAllAsync(data.GlobalModelHash!)).Flatten();
        var outcome = await new RoundCandidates(disk.Blobs, disk.Models).BuildFromSum(data, Sum(global.Length));

        Assert.Null(outcome.Refusal);
        Assert.False(outcome.Noised);
        var candidate = ModelWeights.FromBytes(await disk.Blobs.ReadAllAsync(outcome.CandidateHash!)).Flatten();
        const float mean = (0.5f * 0.01f + 0.02f + 0.25f * 0.04f) / 1.75f;
        for (var i = 0; i < global.Length; i++) Assert.Equal(global[i] + mean, candidate[i], 1e-6f);
    }

    [Fact]
    public async Task A_sum_of_the_wrong_length_or_without_weight_is_refused()
    {
        var data = await RoundCandidatesTests.RunInRound(disk.Blobs, disk.Models, Spec());
        var length = (int)ModelWeights.FromBytes(await disk.Blobs.ReadAllAsync(data.GlobalModelHash!)).ParameterCount;
        var candidates = new RoundCandidates(disk.Blobs, disk.Models);
        Assert.Contains("values", (await candidates.BuildFromSum(data, new float[length])).Refusal);
        Assert.Contains("weight", (await candidates.BuildFromSum(data, new float[length + 1])).Refusal);
    }

    [Fact]
    public async Task Central_dp_adds_its_noise_once_to_the_sum()
    {
        var dp = new DpSpec { Mode = DpMode.Central, ClipNorm = 0.5, NoiseMultiplier = 2, Delta = 1e-5 };
        var data = await RoundCandidatesTests.RunInRound(disk.Blobs, disk.Models, Spec(dp));
        var global = ModelWeights.FromBytes(await disk.Blobs.ReadAllAsync(data.GlobalModelHash!)).Flatten();
        // Under DP every member weighs 1: three members, the sum's last value is 3.
        var sum = new float[global.Length + 1];
        sum[^1] = 3;
        var outcome = await new RoundCandidates(disk.Blobs, disk.Models).BuildFromSum(data, sum);

        Assert.True(outcome.Noised);
        var candidate = ModelWeights.FromBytes(await disk.Blobs.ReadAllAsync(outcome.CandidateHash!)).Flatten();
        var noise = candidate.Select((v, i) => (double)v - global[i]).ToArray();
        var std = Math.Sqrt(noise.Sum(x => x * x) / noise.Length);
        // σ·clipNorm on the sum, divided by n = 3: 1/3. Noise added twice (or on each member) would be √2 or √3 times this.
        Assert.InRange(std, 1.0 / 3 * 0.95, 1.0 / 3 * 1.05);
    }
}
