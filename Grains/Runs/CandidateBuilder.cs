using System.Numerics.Tensors;
using Regatta.Grains.Aggregation;
using Regatta.Grains.Models;
using Regatta.Learning.Weights;
using Regatta.Runs;

namespace Regatta.Grains.Runs;

/// <summary>
/// Folds a round's accepted updates as they arrive (memory O(model) for streaming strategies) and turns them into a
/// candidate model. Held in memory by the RunGrain; rebuilt from the update blobs if the grain was reactivated.
/// </summary>
public sealed class CandidateBuilder
{
    private readonly IRoundAggregator _aggregator;
    private readonly HashSet<string> _folded = [];

    public CandidateBuilder(int round, int attempt, AggregationSpec spec, ModelWeights global, string globalHash)
    {
        Round = round;
        Attempt = attempt;
        Global = global;
        GlobalHash = globalHash;
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

    public void Fold(string updateHash, ModelWeights update, double examples)
    {
        if (!_folded.Add(updateHash + "/" + examples)) return;
        _aggregator.Add(update.Flatten(), examples);
    }

    public bool HasFolded(IEnumerable<AcceptedUpdate> accepted) =>
        accepted.All(a => _folded.Contains(a.UpdateHash + "/" + a.Examples)) && _folded.Count == accepted.Count();

    /// <summary>The candidate weights, or null with a reason when the aggregate is unusable.</summary>
    public (ModelWeights? Candidate, string? Refusal, FedAdamState? Optimizer) Build(AggregationSpec spec, FedAdamState? optimizer)
    {
        if (_aggregator.Count == 0) return (null, "no accepted updates", optimizer);
        var needed = RoundAggregator.MinimumUpdates(spec);
        if (_aggregator.Count < needed) return (null, $"{spec.Strategy} needs at least {needed} updates, got {_aggregator.Count}", optimizer);
        var result = _aggregator.Finish();
        var values = Global.Flatten();
        if (spec.Strategy == AggregationStrategy.FedAdam)
        {
            var adam = optimizer is null ? new FedAdam(values.Length) : new FedAdam(optimizer);
            adam.Apply(values, result.Delta, spec.ServerLearningRate, spec.Beta1, spec.Beta2, spec.Epsilon);
            optimizer = adam.State;
        }
        else
        {
            TensorPrimitives.Add(values, result.Delta, values);
        }
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) return (null, "the aggregate contains non-finite values", optimizer);
        }
        return (Global.WithValues(values), null, optimizer);
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
