using System.Numerics.Tensors;
using Regatta.Grains.Aggregation;
using Regatta.Grains.Models;
using Regatta.Learning.Privacy;
using Regatta.Learning.Weights;
using Regatta.Runs;

namespace Regatta.Grains.Runs;

/// <summary>
/// Folds a round's accepted updates as they arrive (memory O(model) for streaming strategies) and turns them into a
/// candidate model. Held in memory by the RunGrain; rebuilt from the update blobs if the grain was reactivated.
/// </summary>
/// <remarks>
/// <see cref="Fold"/> only queues the update: a background task folds the queue with one
/// <see cref="IRoundAggregator.AddRange"/>, so updates that arrive while a fold is running go into the next pass
/// together (the kernel reads and writes the running sum once per pass, not once per update), and the grain's turn does
/// not wait for a pass over the model. <see cref="Build"/> waits for that task and folds what is left. The candidate is
/// bit for bit the one that folding each update on its own gives (the kernel's order per coordinate does not depend on
/// batching). The aggregator is touched by one thread at a time: the folding task, or Build after it has finished.
/// </remarks>
public sealed class CandidateBuilder
{
    private readonly IRoundAggregator _aggregator;
    private readonly HashSet<string> _folded = [];
    private readonly bool _background;
    private readonly Lock _gate = new();
    private List<(ModelWeights Update, double Examples)> _queue = [];
    private bool _draining;
    private Task _folding = Task.CompletedTask;
    private string? _problem;

    /// <param name="foldInBackground">False: updates wait until <see cref="Build"/> and are folded there in one batch (tests).</param>
    public CandidateBuilder(int round, int attempt, AggregationSpec spec, ModelWeights global, string globalHash, bool foldInBackground = true)
    {
        Round = round;
        Attempt = attempt;
        Global = global;
        GlobalHash = globalHash;
        _background = foldInBackground;
        _aggregator = RoundAggregator.Create(spec, checked((int)global.ParameterCount));
    }

    public int Round { get; }
    public int Attempt { get; }
    public ModelWeights Global { get; }
    public string GlobalHash { get; }

    /// <summary>Checks an update against the global model and the spec; null when acceptable, else why not.</summary>
    public string? Check(ModelWeights update, double examples, double maxNorm)
    {
        return UpdateCheck.Check(Global, update, examples, maxNorm);
    }

    /// <summary>Queues a checked update for folding (once per hash and example count).</summary>
    public void Fold(string updateHash, ModelWeights update, double examples)
    {
        if (!_folded.Add(updateHash + "/" + examples)) return;
        lock (_gate)
        {
            _queue.Add((update, examples));
            if (!_background || _draining) return; // the running task takes it with the next batch
            _draining = true;
            _folding = Task.Run(Drain);
        }
    }

    public bool HasFolded(IEnumerable<AcceptedUpdate> accepted) =>
        accepted.All(a => _folded.Contains(a.UpdateHash + "/" + a.Examples)) && _folded.Count == accepted.Count();

    /// <summary>True once <see cref="Build"/> has added privacy noise to an aggregate (a release the run's accountant counts).</summary>
    public bool Noised { get; private set; }

    /// <summary>The candidate weights, or null with a reason when the aggregate is unusable.</summary>
    /// <param name="sumNoiseStd">Central DP: the standard deviation of the Gaussian noise on the sum of the (clipped,
    /// equally weighted) updates, σ·clipNorm; the mean gets it divided by the number of updates. 0: no noise.</param>
    public (ModelWeights? Candidate, string? Refusal, FedAdamState? Optimizer) Build(AggregationSpec spec, FedAdamState? optimizer, double sumNoiseStd = 0)
    {
        _folding.GetAwaiter().GetResult();
        FoldQueued();
        if (_problem is not null) return (null, _problem, optimizer);
        if (_aggregator.Count == 0) return (null, "no accepted updates", optimizer);
        var needed = RoundAggregator.MinimumUpdates(spec);
        if (_aggregator.Count < needed) return (null, $"{spec.Strategy} needs at least {needed} updates, got {_aggregator.Count}", optimizer);
        var updates = _aggregator.Count;
        var result = _aggregator.Finish();
        if (sumNoiseStd > 0)
        {
            GaussianMechanism.AddNoise(result.Delta, sumNoiseStd / updates);
            Noised = true;
        }
        var applied = Apply(Global, result.Delta, spec, optimizer);
        // The delta is dead now: Apply worked on a fresh copy of the global model (the grain's cached global weights are
        // not touched), FedAdam keeps its own moments, and the candidate copies the values. The next round folds into it.
        RoundAggregator.Recycle(result);
        return applied;
    }

    /// <summary>The candidate from the global model and the round's mean delta: added (FedAvg, FedProx) or FedAdam's step.</summary>
    public static (ModelWeights? Candidate, string? Refusal, FedAdamState? Optimizer) Apply(ModelWeights global, ReadOnlySpan<float> delta, AggregationSpec spec, FedAdamState? optimizer)
    {
        var values = global.Flatten();
        if (spec.Strategy == AggregationStrategy.FedAdam)
        {
            var adam = optimizer is null ? new FedAdam(values.Length) : new FedAdam(optimizer);
            adam.Apply(values, delta, spec.ServerLearningRate, spec.Beta1, spec.Beta2, spec.Epsilon);
            optimizer = adam.State;
        }
        else
        {
            TensorPrimitives.Add(values, delta, values);
        }
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) return (null, "the aggregate contains non-finite values", optimizer);
        }
        return (global.WithValues(values), null, optimizer);
    }

    private void Drain()
    {
        while (FoldQueued())
        {
        }
    }

    /// <summary>Folds everything queued in one AddRange; false (and no longer draining) when the queue was empty.</summary>
    private bool FoldQueued()
    {
        List<(ModelWeights Update, double Examples)> batch;
        lock (_gate)
        {
            if (_queue.Count == 0)
            {
                _draining = false;
                return false;
            }
            (batch, _queue) = (_queue, []);
        }
        try
        {
            var deltas = batch.Select(u => new WeightedDelta(u.Update.Flatten(), u.Examples)).ToArray();
            var refused = _aggregator.AddRange(deltas);
            // Check() has already refused non-finite and over-norm updates; what is left is a float32 overflow of the
            // running sum, which the aggregator refuses without touching the sum. The round's candidate is refused.
            for (var i = 0; i < refused.Count; i++)
                if (refused[i] is { } why) _problem ??= $"an accepted update could not be folded: {why}";
        }
        catch (ArgumentException e)
        {
            _problem ??= $"an accepted update could not be folded: {e.Message}";
        }
        return true;
    }
}

/// <summary>FedAdam moments kept between rounds as a content-addressed blob, in the weights format.</summary>
public static class ServerOptimizerBlob
{
    public static byte[] ToBytes(FedAdamState state) => new ModelWeights(
    [
        new NamedTensor("m", [state.M.Length], state.M),
        new NamedTensor("v", [state.V.Length], state.V),
        new NamedTensor("step", [1], [state.Step]),
    ]).ToBytes();

    public static FedAdamState FromBytes(byte[] bytes)
    {
        var w = ModelWeights.FromBytes(bytes);
        return new FedAdamState(w.Tensors[0].Data, w.Tensors[1].Data, (int)w.Tensors[2].Data[0]);
    }
}
