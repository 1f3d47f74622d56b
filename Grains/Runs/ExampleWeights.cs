using System.Globalization;
using Regatta.Learning.Data;
using Regatta.Runs;

namespace Regatta.Grains.Runs;

/// <summary>
/// The FedAvg weight of a member's update. A member claims how many examples it trained on, and that claim is its weight
/// in the round's average; a hostile member claiming 10^30 would otherwise be the whole aggregate. The claim is clamped
/// to what the coordinator knows of the member's partition: for a generator source (blobs, digits, chars) the pool is
/// <c>samplesPerClient × partitions</c> examples cut into <c>partitions</c> parts, so no honest member has more than
/// <c>samplesPerClient</c> (iid parts are exactly that; a Dirichlet part above the average counts as an average one).
/// A file source's partition sizes are not known without reading the file, so there every update weighs 1 (members are
/// weighed equally). Claims that are not positive and finite are passed through unchanged, for the update check to refuse.
/// </summary>
public static class ExampleWeights
{
    /// <summary>Most examples one member's partition can hold, or null when the coordinator cannot know (file sources).</summary>
    public static long? PartitionCap(DataSpec data)
    {
        var source = DataSource.Parse(data.Source, []);
        return source is { IsGenerator: true } ? Math.Max(1, data.SamplesPerClient) : null;
    }

    /// <summary>The weight the aggregation uses for an update whose member claimed <paramref name="claimed"/> examples.</summary>
    public static double Weigh(DataSpec data, double claimed)
    {
        if (!double.IsFinite(claimed) || claimed <= 0) return claimed; // refused by UpdateCheck
        return PartitionCap(data) is { } cap ? Math.Min(claimed, cap) : 1;
    }

    /// <summary>
    /// The weight of an update in a run: under differential privacy every update weighs 1, since the noise is
    /// calibrated to one member's clipped update moving the mean by at most clipNorm / n.
    /// </summary>
    public static double Weigh(RunSpec spec, double claimed) =>
        spec.Privacy.Dp is not null && double.IsFinite(claimed) && claimed > 0 ? 1 : Weigh(spec.Data, claimed);

    /// <summary>For the run's reports: why an accepted update weighs less than it claimed; null when it weighs what it claimed (or all weigh 1 under DP).</summary>
    public static string? Note(RunSpec spec, AcceptedUpdate update)
    {
        if (spec.Privacy.Dp is not null) return null;
        var data = spec.Data;
        if (!double.IsFinite(update.ClaimedExamples) || update.ClaimedExamples <= update.Examples) return null;
        var claimed = update.ClaimedExamples.ToString("G6", CultureInfo.InvariantCulture);
        var weight = update.Examples.ToString("G6", CultureInfo.InvariantCulture);
        return PartitionCap(data) is { } cap
            ? $"claimed {claimed} examples; weighed as {weight} (a partition of data.samplesPerClient = {cap} holds no more)"
            : $"claimed {claimed} examples; weighed as {weight} (partition sizes of a file source are not known: members weigh equally)";
    }
}
