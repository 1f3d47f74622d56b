using Regatta.Learning.Data;
using Regatta.Learning.Models;
using Regatta.Runs;
using static TorchSharp.torch;

namespace Regatta.Learning.Training;

/// <summary>
/// What a federated run is measured against, on the coordinator's own validation set. <see cref="LocalOnly"/>: each
/// partition's member trained alone from the run's initial model for as many local steps as the run gave it;
/// <see cref="Centralized"/>: one model trained on all partitions pooled (the upper bound federation approaches).
/// </summary>
public sealed record BaselineResult(double InitialAccuracy, IReadOnlyList<double> LocalOnly, double Centralized, TimeSpan Took)
{
    public double LocalOnlyMean => LocalOnly.Average();
    public double LocalOnlyBest => LocalOnly.Max();
}

public static class Baselines
{
    /// <summary>
    /// Trains the baselines for <paramref name="rounds"/> rounds of the spec's local training: the same partitions, initial
    /// weights, optimizer, batches and per-round shuffling seeds (<see cref="LocalTrainer.RoundSeed"/>) a member uses,
    /// only never averaged with anyone. Partitions and the validation set come from <see cref="DataCatalog"/>, as the
    /// members' and the coordinator's do. The models train side by side, up to <paramref name="parallelism"/> at once.
    /// </summary>
    public static BaselineResult Measure(RunSpec spec, int rounds, Device? device = null, int parallelism = 1, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        device ??= CPU;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var validation = DataCatalog.ValidationSet(spec.Data, spec.Seed, spec.Model);
        var partitions = Enumerable.Range(0, spec.Data.Partitions).Select(p => DataCatalog.Partition(spec.Data, p, spec.Seed, spec.Model)).ToList();
        try
        {
            double initial;
            using (NewDisposeScope()) initial = Evaluator.Evaluate(ModelCatalog.Create(spec.Model, spec.Seed), validation, device).Accuracy;
            using var pooled = Dataset.Concat(partitions.Select(p => p.Train).ToList());
            // One model per partition, then the pooled one (index Partitions): each trains on its own thread, as dispose scopes require.
            var accuracies = new double[spec.Data.Partitions + 1];
            Parallel.For(0, accuracies.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = ct },
                i => accuracies[i] = TrainAlone(spec, i < partitions.Count ? partitions[i].Train : pooled, rounds, i, validation, device, ct));
            return new BaselineResult(initial, accuracies[..^1], accuracies[^1], clock.Elapsed);
        }
        finally
        {
            foreach (var (train, holdOut) in partitions)
            {
                train.Dispose();
                holdOut.Dispose();
            }
        }
    }

    private static double TrainAlone(RunSpec spec, Dataset data, int rounds, int partition, Dataset validation, Device device, CancellationToken ct)
    {
        using var scope = NewDisposeScope();
        var model = ModelCatalog.Create(spec.Model, spec.Seed);
        for (var round = 1; round <= rounds; round++)
            LocalTrainer.Train(model, data, spec.Training, device, LocalTrainer.RoundSeed(spec.Seed, round, partition), null, ct);
        return Evaluator.Evaluate(model, validation, device).Accuracy;
    }
}
