using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Learning.Data;

/// <summary>
/// Gaussian blobs: one unit-variance cloud per class around well-separated centres. The centres depend only
/// on the run seed, so every partition and the coordinator's validation set share one distribution.
/// </summary>
internal static class Blobs
{
    // Centres at least this many noise standard deviations apart: a pair is confused ~0.3% of the time.
    private const double MinSeparation = 5.5;

    public static Dataset Generate(int count, int inputs, int classes, long seed, string stream)
    {
        using var scope = NewDisposeScope();
        var (centres, scale) = Centres(inputs, classes, seed);
        using var generator = Seeds.Generator(seed, "blobs." + stream);
        // Balanced classes in random order.
        var labels = (arange(count, dtype: int64) % classes).index_select(0, randperm(count, generator: generator));
        var features = centres.index_select(0, labels) + randn([count, inputs], generator: generator);
        return new Dataset(features / scale, labels, DatasetKind.Classification, classes);
    }

    /// <summary>Rejection-samples centres in a box large enough for the classes; also returns the scale that brings features to about unit size.</summary>
    private static (Tensor Centres, double Scale) Centres(int inputs, int classes, long seed)
    {
        using var generator = Seeds.Generator(seed, "blobs.centres");
        var halfWidth = MinSeparation * Math.Max(1, Math.Pow(classes, 1.0 / inputs));
        Tensor? best = null;
        var bestGap = double.NegativeInfinity;
        for (var attempt = 0; attempt < 200 && bestGap < MinSeparation; attempt++)
        {
            var candidate = (rand([classes, inputs], generator: generator) * 2 - 1) * halfWidth;
            var distances = cdist(candidate, candidate) + eye(classes) * 1e9; // ignore each centre's distance to itself
            var gap = distances.min().item<float>();
            if (gap > bestGap) (best, bestGap) = (candidate, gap);
        }
        return (best!, halfWidth / Math.Sqrt(3));
    }
}
