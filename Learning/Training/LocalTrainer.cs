using System.Diagnostics;
using Regatta.Learning.Data;
using Regatta.Runs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Regatta.Learning.Training;

/// <summary>A member's local training: minibatch SGD or Adam over its partition, optionally with the FedProx proximal term.</summary>
public static class LocalTrainer
{
    // Bytes of shuffled examples gathered at once (see Train).
    private const long GatherBytes = 16L << 20;
    private static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Errors in the training spec, path-prefixed (<c>training.optimizer: ...</c>).</summary>
    public static List<string> Validate(TrainingSpec spec)
    {
        var errors = new List<string>();
        if (spec.LocalEpochs is < 1 or > 10_000) errors.Add("training.localEpochs: must be between 1 and 10000");
        if (spec.BatchSize is < 1 or > 1 << 20) errors.Add("training.batchSize: must be between 1 and 1048576");
        if (!(spec.LearningRate > 0) || !double.IsFinite(spec.LearningRate)) errors.Add("training.learningRate: must be > 0");
        if (spec.Optimizer?.ToLowerInvariant() is not ("sgd" or "adam")) errors.Add($"training.optimizer: unknown optimizer '{spec.Optimizer}' (known: sgd, adam)");
        if (!(spec.ProximalMu >= 0) || !double.IsFinite(spec.ProximalMu)) errors.Add("training.proximalMu: must be >= 0");
        return errors;
    }

    /// <summary>The shuffling seed of a member's local training in one round: differs by round and partition, fixed by the run's seed.</summary>
    public static long RoundSeed(long runSeed, int round, int partition) => runSeed + round * 7919L + partition;

    /// <summary>
    /// Trains <paramref name="module"/> in place on <paramref name="device"/> (the module is moved there).
    /// Batches are shuffled by a generator seeded from <paramref name="seed"/>, so a run is reproducible.
    /// With <c>ProximalMu</c> &gt; 0 the loss gains μ/2·‖w − w₀‖², w₀ being the weights at the start (the global model).
    /// </summary>
    public static TrainResult Train(nn.Module<Tensor, Tensor> module, Dataset train, TrainingSpec spec, Device device, long seed,
        IProgress<TrainProgress>? progress = null, CancellationToken ct = default)
    {
        var errors = Validate(spec);
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors), nameof(spec));
        if (train.Count == 0) return new TrainResult(0, 0, 0, 0, 0);

        // Move before opening any dispose scope: the moved parameters belong to the module, not to a scope.
        module.to(device);
        module.train();
        var parameters = module.parameters().ToList();
        using var optimizer = CreateOptimizer(spec, parameters);
        using var scope = NewDisposeScope();
        var anchor = spec.ProximalMu > 0 ? parameters.Select(p => p.detach().clone()).ToList() : null;
        var features = train.Features.to(device);
        var labels = train.Labels.to(device);
        using var shuffler = Seeds.Generator(seed, "train.shuffle");

        var count = train.Count;
        var batch = (int)Math.Min(spec.BatchSize, count);
        var stepsPerEpoch = (int)((count + batch - 1) / batch);
        var totalSteps = stepsPerEpoch * spec.LocalEpochs;
        var reportEvery = Math.Max(1, stepsPerEpoch / 20);
        // Shuffled examples are gathered a window of batches at a time (one index_select per window rather than two
        // per step; each step then takes a view), the window capped so a large dataset is not copied whole.
        var rowBytes = Math.Max(1L, features.numel() / Math.Max(1, count) * features.ElementSize + labels.numel() / Math.Max(1, count) * labels.ElementSize);
        var window = (long)batch * Math.Clamp(GatherBytes / (rowBytes * batch), 1, stepsPerEpoch);
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        long seen = 0;
        var step = 0;
        double epochLoss = 0, epochCorrect = 0, epochPredictions = 0, windowLoss = 0, windowPredictions = 0;

        for (var epoch = 0; epoch < spec.LocalEpochs; epoch++)
        {
            (epochLoss, epochCorrect, epochPredictions) = (0, 0, 0);
            // Accuracy is only reported for the last epoch: the argmax/compare/count it takes is skipped before it.
            var lastEpoch = epoch == spec.LocalEpochs - 1;
            using var order = randperm(count, generator: shuffler).to(device);
            for (long from = 0; from < count; from += window)
            {
                using var windowScope = NewDisposeScope();
                var rows = Math.Min(window, count - from);
                var at = order.narrow(0, from, rows);
                var xs = features.index_select(0, at);
                var ys = labels.index_select(0, at);
                for (long offset = 0; offset < rows; offset += batch)
                {
                    ct.ThrowIfCancellationRequested();
                    using var stepScope = NewDisposeScope();
                    var size = Math.Min(batch, rows - offset);
                    var x = xs.narrow(0, offset, size);
                    var y = ys.narrow(0, offset, size);

                    optimizer.zero_grad();
                    var logits = module.forward(x);
                    var (loss, predictions) = MeanLoss(logits, y, train.Kind);
                    var objective = anchor is null ? loss : loss + ProximalTerm(parameters, anchor) * (spec.ProximalMu / 2);
                    objective.backward();
                    optimizer.step();

                    var batchLoss = loss.item<float>() * (double)predictions;
                    if (lastEpoch) epochCorrect += Correct(logits, y, train.Kind);
                    epochLoss += batchLoss;
                    epochPredictions += predictions;
                    windowLoss += batchLoss;
                    windowPredictions += predictions;
                    seen += size;
                    step++;
                    // Reports go through IProgress (the agent's posts to the thread pool): the first, then at most every
                    // ReportInterval, and the last, however short the steps are.
                    if (progress is not null && (step == totalSteps || (step % reportEvery == 0 && (lastReport == TimeSpan.Zero || clock.Elapsed - lastReport >= ReportInterval))))
                    {
                        lastReport = clock.Elapsed;
                        progress.Report(new TrainProgress(epoch + 1, step, totalSteps, windowLoss / windowPredictions, Rate(seen, clock)));
                        (windowLoss, windowPredictions) = (0, 0);
                    }
                }
            }
        }
        return new TrainResult(count, epochLoss / epochPredictions, epochCorrect / epochPredictions, Rate(seen, clock), step);
    }

    /// <summary>Mean cross-entropy (over classes, or over next tokens at every position) and how many predictions it averages.</summary>
    private static (Tensor Loss, long Predictions) MeanLoss(Tensor logits, Tensor labels, DatasetKind kind)
    {
        if (kind == DatasetKind.LanguageModel)
        {
            logits = logits.reshape(-1, logits.shape[^1]);
            labels = labels.reshape(-1);
        }
        return (nn.functional.cross_entropy(logits, labels), labels.shape[0]);
    }

    private static long Correct(Tensor logits, Tensor labels, DatasetKind kind)
    {
        using var scope = NewDisposeScope();
        if (kind == DatasetKind.LanguageModel) (logits, labels) = (logits.reshape(-1, logits.shape[^1]), labels.reshape(-1));
        return logits.detach().argmax(-1).eq(labels).sum().item<long>();
    }

    /// <summary>‖w − w₀‖² summed over all parameters.</summary>
    private static Tensor ProximalTerm(List<Parameter> parameters, List<Tensor> anchor)
    {
        var total = (parameters[0] - anchor[0]).square().sum();
        for (var i = 1; i < parameters.Count; i++)
            total = total + (parameters[i] - anchor[i]).square().sum();
        return total;
    }

    private static optim.Optimizer CreateOptimizer(TrainingSpec spec, List<Parameter> parameters) =>
        spec.Optimizer.ToLowerInvariant() == "adam"
            ? optim.Adam(parameters, spec.LearningRate)
            : optim.SGD(parameters, spec.LearningRate);

    private static double Rate(long examples, Stopwatch clock) => examples / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
}
