using Regatta.Grains.Models;
using Regatta.Grains.Runs;
using Regatta.Grains.Tests.Runs;
using Regatta.Learning.Privacy;
using Regatta.Learning.Weights;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Privacy;

/// <summary>Central DP on the round's data path: clipping bounds one member's influence, and the noise on the mean has std σ·C/n.</summary>
public sealed class CentralDpTests(CoordinatorDisk disk) : IClassFixture<CoordinatorDisk>
{
    private readonly BlobStore _blobs = disk.Blobs;
    private readonly TorchModelRuntime _models = disk.Models;

    private static RunSpec Spec(double clipNorm, double sigma) => RoundCandidatesTests.Spec() with
    {
        Privacy = new PrivacySpec { Dp = new DpSpec { ClipNorm = clipNorm, NoiseMultiplier = sigma } },
    };

    /// <summary>Four members; the last sends <paramref name="last"/>. Returns the candidate's change from the global model.</summary>
    private async Task<float[]> Move(RunSpec spec, Func<ModelWeights, ModelWeights> last)
    {
        var data = await RoundCandidatesTests.RunInRound(_blobs, _models, spec);
        data.Current!.Selected = ["a", "b", "c", "d"];
        var global = ModelWeights.FromBytes(await _blobs.ReadAllAsync(data.GlobalModelHash!));
        var candidates = new RoundCandidates(_blobs, _models);
        foreach (var (worker, update) in new[] { ("a", RoundCandidatesTests.Delta(global, 0.01f)), ("b", RoundCandidatesTests.Delta(global, -0.02f)),
                     ("c", RoundCandidatesTests.Delta(global, 0.005f)), ("d", last(global)) })
        {
            var (accepted, refusal) = await candidates.Receive(data, RoundCandidatesTests.TrainJob(worker, await _blobs.PutAsync(update.ToBytes()), 100));
            Assert.Null(refusal);
            data.Current.Accepted.Add(accepted!);
        }
        var outcome = await candidates.Build(data);
        Assert.NotNull(outcome.CandidateHash);
        Assert.Equal(spec.Privacy.Dp!.NoiseMultiplier > 0, outcome.Noised);
        var candidate = ModelWeights.FromBytes(await _blobs.ReadAllAsync(outcome.CandidateHash)).Flatten();
        var start = global.Flatten();
        return [.. candidate.Select((v, i) => v - start[i])];
    }

    [Fact]
    public async Task A_member_with_a_million_norm_update_moves_the_aggregate_by_at_most_clipNorm_over_n()
    {
        const double clipNorm = 0.5;
        var spec = Spec(clipNorm, sigma: 0); // no noise, to see the clipping alone
        var honest = await Move(spec, g => g.WithValues(new float[g.ParameterCount]));
        var hostile = await Move(spec, g =>
        {
            var values = Enumerable.Range(0, (int)g.ParameterCount).Select(i => i % 3 == 0 ? 1f : -1f).ToArray();
            var scale = (float)(1e6 / GaussianMechanism.Norm(values));
            return g.WithValues(values.Select(v => v * scale).ToArray());
        });

        var influence = GaussianMechanism.Norm(hostile.Select((v, i) => v - honest[i]).ToArray());
        Assert.True(influence <= clipNorm / 4 * (1 + 1e-5), $"the hostile member moved the aggregate by {influence}");
        Assert.True(influence >= clipNorm / 4 * 0.999, $"clipped, not dropped: it still moves the aggregate by clipNorm / n ({influence})");
    }

    [Fact]
    public void Noise_on_the_mean_has_std_sigma_clipNorm_over_n()
    {
        const int length = 1 << 19, n = 4;
        const double clipNorm = 2, sigma = 1.5;
        var global = new ModelWeights([new NamedTensor("w", [length], new float[length])]);
        var builder = new CandidateBuilder(1, 1, new AggregationSpec { MaxUpdateNorm = 0 }, global, "g", foldInBackground: false);
        for (var i = 0; i < n; i++) builder.Fold($"u{i}", global.WithValues(new float[length]), 1);

        var (candidate, refusal, _) = builder.Build(new AggregationSpec(), null, sumNoiseStd: sigma * clipNorm);

        Assert.Null(refusal);
        Assert.True(builder.Noised);
        var values = candidate!.Flatten();
        var mean = values.Average(v => (double)v);
        var std = Math.Sqrt(values.Average(v => (double)v * v) - mean * mean);
        var expected = sigma * clipNorm / n;
        Assert.True(Math.Abs(mean) < 5 * expected / Math.Sqrt(length), $"mean {mean}");
        Assert.True(Math.Abs(std / expected - 1) < 5 * Math.Sqrt(0.5 / length), $"std {std}, expected {expected}");
    }
}
