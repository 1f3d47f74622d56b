using Regatta.Learning.Data;
using Regatta.Learning.Models;
using Regatta.Learning.Training;
using Regatta.Learning.Weights;
using Regatta.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Tests;

public class TrainingTests
{
    private static readonly DataSpec BlobData = new() { Source = "blobs", SamplesPerClient = 500, Partitions = 3, HoldOut = 0.2, ValidationSamples = 300 };

    [Fact]
    public void Mlp_learns_blobs_to_high_held_out_accuracy()
    {
        var model = ModelTests.Mlp(inputs: 8, hidden: 32, classes: 4);
        var (train, held) = DataCatalog.Partition(BlobData, 0, seed: 5, model);
        using (train) using (held)
        using (var module = ModelCatalog.Create(model, 5))
        {
            var progress = new List<TrainProgress>();
            var result = LocalTrainer.Train(module, train, new TrainingSpec { LocalEpochs = 5, BatchSize = 32, LearningRate = 0.1 }, CPU, 5,
                new SynchronousProgress<TrainProgress>(progress.Add), TestContext.Current.CancellationToken);

            var eval = Evaluator.Evaluate(module, held, CPU);
            Assert.True(eval.Accuracy >= 0.9, $"held-out accuracy {eval.Accuracy}");
            Assert.Equal(held.Count, eval.Examples);
            Assert.Equal(train.Count, result.Examples);
            Assert.Equal(5 * (int)Math.Ceiling(train.Count / 32.0), result.Steps);
            Assert.True(result.Accuracy > 0.9 && result.Loss < 0.5 && result.SamplesPerSecond > 0, result.ToString());
            Assert.NotEmpty(progress);
            Assert.Equal(5, progress[^1].Epoch);
            Assert.Equal(result.Steps, progress[^1].Step);
            Assert.True(progress[^1].Loss < progress[0].Loss);

            using var validation = DataCatalog.ValidationSet(BlobData, 5, model);
            Assert.True(Evaluator.Evaluate(module, validation, CPU).Accuracy >= 0.9);
        }
    }

    [Fact]
    public void Cnn_learns_digits_above_chance()
    {
        var model = ModelTests.Cnn(size: 8, filters: 8);
        var data = new DataSpec { Source = "digits", SamplesPerClient = 600, Partitions = 1, HoldOut = 0.2 };
        var (train, held) = DataCatalog.Partition(data, 0, seed: 2, model);
        using (train) using (held)
        using (var module = ModelCatalog.Create(model, 2))
        {
            var before = Evaluator.Evaluate(module, held, CPU);
            LocalTrainer.Train(module, train, new TrainingSpec { LocalEpochs = 5, BatchSize = 32, LearningRate = 0.01, Optimizer = "adam" }, CPU, 2, ct: TestContext.Current.CancellationToken);
            var after = Evaluator.Evaluate(module, held, CPU);
            Assert.True(after.Accuracy > 0.5, $"accuracy {after.Accuracy} (chance 0.1)");
            Assert.True(after.Loss < before.Loss);
        }
    }

    [Fact]
    public void Transformer_next_token_loss_falls_on_chars()
    {
        var model = ModelTests.Transformer(blocks: 2, context: 16);
        var data = new DataSpec { Source = "chars", SamplesPerClient = 200, Partitions = 1, HoldOut = 0.2 };
        var (train, held) = DataCatalog.Partition(data, 0, seed: 1, model);
        using (train) using (held)
        using (var module = ModelCatalog.Create(model, 1))
        {
            var before = Evaluator.Evaluate(module, held, CPU);
            LocalTrainer.Train(module, train, new TrainingSpec { LocalEpochs = 2, BatchSize = 16, LearningRate = 0.003, Optimizer = "adam" }, CPU, 1, ct: TestContext.Current.CancellationToken);
            var after = Evaluator.Evaluate(module, held, CPU);
            Assert.True(after.Loss < before.Loss - 0.5, $"loss {before.Loss} -> {after.Loss}");
        }
    }

    [Fact]
    public void FedProx_with_a_large_mu_stays_closer_to_the_global_model()
    {
        var model = ModelTests.Mlp(inputs: 8, hidden: 16, classes: 4);
        var (train, held) = DataCatalog.Partition(BlobData with { Partitioning = "dirichlet", Alpha = 0.2 }, 1, seed: 3, model);
        using var _ = train;
        using var __ = held;

        double Drift(double mu)
        {
            using var module = ModelCatalog.Create(model, 3);
            var global = WeightsIO.Read(module);
            LocalTrainer.Train(module, train, new TrainingSpec { LocalEpochs = 2, LearningRate = 0.1, ProximalMu = mu }, CPU, 3);
            return UpdateMath.Norm(UpdateMath.Delta(WeightsIO.Read(module), global));
        }

        var free = Drift(0);
        var anchored = Drift(5);
        Assert.True(anchored < free * 0.7, $"drift with mu=5: {anchored}, without: {free}");
    }

    [Fact]
    public void Training_is_reproducible_from_its_seed()
    {
        var model = ModelTests.Mlp(inputs: 2, hidden: 8, classes: 4);
        using var data = DataCatalog.ValidationSet(BlobData, 1, model);
        string Train(long seed)
        {
            using var module = ModelCatalog.Create(model, 1);
            LocalTrainer.Train(module, data, new TrainingSpec { BatchSize = 16 }, CPU, seed);
            return ModelWeights.Hash(WeightsIO.Read(module).ToBytes());
        }
        Assert.Equal(Train(4), Train(4));
        Assert.NotEqual(Train(4), Train(5));
    }

    [Fact]
    public void Repeated_rounds_leave_no_live_tensors_behind()
    {
        var model = ModelTests.Mlp(inputs: 2, hidden: 8, classes: 4);
        using var data = DataCatalog.ValidationSet(BlobData, 1, model);
        using var module = ModelCatalog.Create(model, 1);
        var spec = new TrainingSpec { BatchSize = 50, Optimizer = "adam", ProximalMu = 0.1 };
        void Round()
        {
            WeightsIO.Load(module, WeightsIO.Read(module));
            LocalTrainer.Train(module, data, spec, CPU, 1);
            Evaluator.Evaluate(module, data, CPU);
        }

        Round();
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 5; i++) Round();
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Cancellation_stops_training()
    {
        var model = ModelTests.Mlp(inputs: 2, hidden: 8, classes: 4);
        using var data = DataCatalog.ValidationSet(BlobData, 1, model);
        using var module = ModelCatalog.Create(model, 1);
        using var cts = new CancellationTokenSource();
        var progress = new SynchronousProgress<TrainProgress>(_ => cts.Cancel());
        Assert.Throws<OperationCanceledException>(() =>
            LocalTrainer.Train(module, data, new TrainingSpec { BatchSize = 1, LocalEpochs = 100 }, CPU, 1, progress, cts.Token));
    }

    [Fact]
    public void Bad_training_specs_are_refused()
    {
        var errors = LocalTrainer.Validate(new TrainingSpec { Optimizer = "rmsprop", BatchSize = 0, LearningRate = double.NaN, ProximalMu = -1 });
        Assert.Contains("training.optimizer: unknown optimizer 'rmsprop' (known: sgd, adam)", errors);
        Assert.Contains("training.batchSize: must be between 1 and 1048576", errors);
        Assert.Contains("training.learningRate: must be > 0", errors);
        Assert.Contains("training.proximalMu: must be >= 0", errors);
        Assert.Empty(LocalTrainer.Validate(new TrainingSpec()));
    }

    [Fact]
    public void Devices_resolve_and_the_host_is_described()
    {
        Assert.Equal(DeviceType.CPU, DeviceChoice.Resolve("cpu").type);
        Assert.Equal(cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, DeviceChoice.Resolve("auto").type);
        Assert.Throws<ArgumentException>(() => DeviceChoice.Resolve("tpu"));
        if (!cuda.is_available())
            Assert.Throws<InvalidOperationException>(() => DeviceChoice.Resolve("cuda"));

        var hardware = HardwareProbe.Probe(CPU);
        Assert.Equal("cpu", hardware.DeviceKind);
        Assert.Equal(0, hardware.VramBytes);
        Assert.True(hardware.CpuCores >= 1);
        Assert.True(hardware.RamBytes > 0);
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests need the callback before Train returns.</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
