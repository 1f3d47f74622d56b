using Regatta.Runs;

namespace Regatta.Grains.Aggregation;

/// <summary>
/// Collects one round's accepted updates and produces the round's aggregate. Created by
/// <see cref="RoundAggregator.Create"/>. Not thread-safe (a grain calls it from one turn at a time).
/// </summary>
public interface IRoundAggregator
{
    AggregationStrategy Strategy { get; }

    /// <summary>Values in the flat model vector.</summary>
    int Length { get; }

    /// <summary>Updates added so far.</summary>
    int Count { get; }

    /// <summary>
    /// True when updates are folded as they arrive (memory O(model): FedAvg, FedProx, FedAdam);
    /// false when every update is kept until <see cref="Finish"/> (memory O(K × model): Median,
    /// TrimmedMean, Krum, MultiKrum).
    /// </summary>
    bool Streaming { get; }

    /// <summary>Adds one accepted update: a delta (client − global) and the client's example count.</summary>
    /// <exception cref="ArgumentException">Wrong length, non-finite values, or a weight that is not positive and finite.</exception>
    void Add(ReadOnlySpan<float> delta, double examples);

    /// <summary>
    /// Adds several accepted updates at once; streaming strategies fold them in one pass over the running sum
    /// (faster than one <see cref="Add"/> each when several updates are waiting). An update with non-finite values
    /// is refused and the others are added, with the same result as adding them one by one.
    /// </summary>
    /// <returns>Per update, null when it was added, otherwise why it was refused.</returns>
    /// <exception cref="ArgumentException">An update of the wrong length or with a bad weight; then nothing is added.</exception>
    IReadOnlyList<string?> AddRange(ReadOnlySpan<WeightedDelta> updates);

    /// <summary>
    /// The round's aggregate delta. For FedAdam it is the weighted average delta, which the caller feeds to
    /// <see cref="FedAdam.Apply"/>; for every other strategy the new global model is global + Delta.
    /// Can be called once; the aggregator is finished afterwards.
    /// </summary>
    /// <exception cref="ArgumentException">The round is empty, or too small for Krum (K &lt; 2f + 3).</exception>
    AggregateResult Finish();
}

public static class RoundAggregator
{
    /// <summary>The aggregator for <paramref name="spec"/> over a flat model of <paramref name="length"/> values.</summary>
    /// <exception cref="ArgumentException">A non-positive length or spec values the strategy cannot use.</exception>
    public static IRoundAggregator Create(AggregationSpec spec, int length)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Guard.ModelLength(length, nameof(length));
        switch (spec.Strategy)
        {
            case AggregationStrategy.FedAvg:
            case AggregationStrategy.FedProx:
            case AggregationStrategy.FedAdam:
                return new StreamingAggregator(spec.Strategy, length);
            case AggregationStrategy.Median:
                return new BufferedAggregator(spec.Strategy, length, RobustAggregation.CoordinateMedian);
            case AggregationStrategy.TrimmedMean:
                if (!(spec.TrimFraction is >= 0 and < 0.5))
                    throw new ArgumentException($"TrimFraction must be in [0, 0.5), got {Guard.Format(spec.TrimFraction)}", nameof(spec));
                var trim = spec.TrimFraction;
                return new BufferedAggregator(spec.Strategy, length, u => RobustAggregation.TrimmedMean(u, trim));
            case AggregationStrategy.Krum:
                CheckByzantine(spec);
                var f = spec.ByzantineClients;
                return new BufferedAggregator(spec.Strategy, length, u => RobustAggregation.Krum(u, f));
            case AggregationStrategy.MultiKrum:
                CheckByzantine(spec);
                if (spec.MultiKrumSelect < 1)
                    throw new ArgumentException($"MultiKrumSelect must be at least 1, got {spec.MultiKrumSelect}", nameof(spec));
                var (fm, m) = (spec.ByzantineClients, spec.MultiKrumSelect);
                return new BufferedAggregator(spec.Strategy, length, u => RobustAggregation.MultiKrum(u, fm, Math.Min(m, u.Count)));
            default:
                throw new ArgumentException($"unknown aggregation strategy {spec.Strategy}", nameof(spec));
        }
    }

    /// <summary>
    /// Gives a finished round's delta back once the caller has applied it (added it to the global model, or fed it to
    /// FedAdam): the next round of a model of the same size folds into it instead of allocating and page-faulting a
    /// new model-sized array. Optional; the caller must not touch <paramref name="result"/>'s delta afterwards.
    /// </summary>
    public static void Recycle(AggregateResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        SumBuffers.Return(result.Delta);
    }

    /// <summary>True for the strategies that fold updates as they arrive (FedAvg, FedProx, FedAdam).</summary>
    public static bool IsStreaming(AggregationStrategy strategy) =>
        strategy is AggregationStrategy.FedAvg or AggregationStrategy.FedProx or AggregationStrategy.FedAdam;

    /// <summary>Fewest updates with which <see cref="IRoundAggregator.Finish"/> can succeed: 2f + 3 for Krum and Multi-Krum, otherwise 1.</summary>
    public static int MinimumUpdates(AggregationSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Strategy is AggregationStrategy.Krum or AggregationStrategy.MultiKrum
            ? 2 * Math.Max(0, spec.ByzantineClients) + 3
            : 1;
    }

    private static void CheckByzantine(AggregationSpec spec)
    {
        if (spec.ByzantineClients < 0)
            throw new ArgumentException($"ByzantineClients must not be negative, got {spec.ByzantineClients}", nameof(spec));
    }

    private sealed class StreamingAggregator(AggregationStrategy strategy, int length) : IRoundAggregator
    {
        private readonly FedAvgAccumulator _sum = new(length);
        private bool _finished;

        public AggregationStrategy Strategy => strategy;
        public int Length => length;
        public int Count => _sum.Count;
        public bool Streaming => true;

        public void Add(ReadOnlySpan<float> delta, double examples)
        {
            if (_finished) throw Finished();
            _sum.Add(delta, examples);
        }

        public IReadOnlyList<string?> AddRange(ReadOnlySpan<WeightedDelta> updates)
        {
            if (_finished) throw Finished();
            return _sum.AddRange(updates);
        }

        public AggregateResult Finish()
        {
            if (_finished) throw Finished();
            if (_sum.Count == 0) throw Guard.Empty("updates");
            _finished = true;
            return new AggregateResult(_sum.DetachResult(), null);
        }
    }

    /// <remarks>
    /// MultiKrum's m is capped at K when fewer updates arrived than the spec asks to select,
    /// so a round that has enough updates for Krum's precondition never fails on m alone.
    /// </remarks>
    private sealed class BufferedAggregator(AggregationStrategy strategy, int length, Func<IReadOnlyList<float[]>, object> aggregate) : IRoundAggregator
    {
        private FiniteUpdates? _updates = [];

        public AggregationStrategy Strategy => strategy;
        public int Length => length;
        public int Count => _updates?.Count ?? throw Finished();
        public bool Streaming => false;

        public void Add(ReadOnlySpan<float> delta, double examples)
        {
            var updates = _updates ?? throw Finished();
            Guard.Length(delta.Length, length, nameof(delta));
            Guard.Weight(examples, nameof(examples));
            if (!TryAddCopy(updates, delta)) throw new ArgumentException(NonFinite, nameof(delta));
        }

        public IReadOnlyList<string?> AddRange(ReadOnlySpan<WeightedDelta> batch)
        {
            var updates = _updates ?? throw Finished();
            for (var i = 0; i < batch.Length; i++)
            {
                Guard.Length(batch[i].Delta.Length, length, $"updates[{i}]");
                Guard.Weight(batch[i].Examples, $"updates[{i}]");
            }
            var refused = new string?[batch.Length];
            for (var i = 0; i < batch.Length; i++)
            {
                if (!TryAddCopy(updates, batch[i].Delta.Span)) refused[i] = NonFinite;
            }
            return refused;
        }

        public AggregateResult Finish()
        {
            var updates = _updates ?? throw Finished();
            if (updates.Count == 0) throw Guard.Empty("updates");
            var result = aggregate(updates) switch
            {
                AggregateResult r => r,
                float[] delta => new AggregateResult(delta, null),
                var other => throw new InvalidOperationException($"unexpected aggregate {other.GetType()}"),
            };
            // The result never aliases an update (median and means are new arrays, Krum a clone): the copies go back for the next round.
            foreach (var copy in updates) SumBuffers.Return(copy);
            _updates = null;
            return result;
        }

        private const string NonFinite = "delta contains non-finite values (NaN or infinity)";

        private bool TryAddCopy(FiniteUpdates updates, ReadOnlySpan<float> delta)
        {
            var copy = SumBuffers.Rent(length);
            if (!Guard.TryCopyFinite(delta, copy))
            {
                SumBuffers.Return(copy);
                return false;
            }
            updates.Add(copy);
            return true;
        }
    }

    private static InvalidOperationException Finished() => new("this round's aggregate was already taken");
}
