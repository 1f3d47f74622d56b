using Regatta.Learning.Privacy;
using Regatta.Learning.Weights;
using Regatta.Runs;
using Regatta.WorkerAgent;

namespace Regatta.Tests;

/// <summary>What a member masks under secure aggregation: weight × update, then the weight; under central DP its own update clipped to clipNorm and a weight of 1.</summary>
public sealed class SecureVectorTests
{
    private static readonly ModelWeights Delta = new([new NamedTensor("w", [4], [3f, 0f, 4f, 0f])]); // norm 5

    private static RunSpec Spec(DpSpec? dp = null) => new()
    {
        Data = new DataSpec { Source = "blobs", SamplesPerClient = 200 },
        Privacy = new PrivacySpec { SecureAggregation = true, Dp = dp },
    };

    [Fact]
    public void Without_dp_the_update_is_weighted_by_its_share_of_a_full_partition()
    {
        Assert.Equal([1.5f, 0f, 2f, 0f, 0.5f], JobRunner.SecureVector(Spec(), Delta, examples: 100));
        Assert.Equal([3f, 0f, 4f, 0f, 1f], JobRunner.SecureVector(Spec(), Delta, examples: 1e9)); // a claim above the partition weighs 1
    }

    [Fact]
    public void Under_central_dp_the_member_clips_its_own_update_and_weighs_one()
    {
        var vector = JobRunner.SecureVector(Spec(new DpSpec { Mode = DpMode.Central, ClipNorm = 1, NoiseMultiplier = 1 }), Delta, examples: 100);
        Assert.Equal(1f, vector[^1]);
        Assert.Equal(1, GaussianMechanism.Norm(vector.AsSpan(0, 4).ToArray()), 5);
        Assert.Equal(0.6f, vector[0], 5);
    }
}
