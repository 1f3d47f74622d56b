using Regatta.Learning.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Learning.Training;

/// <summary>Loss and accuracy of a model on a dataset, without gradients.</summary>
public static class Evaluator
{
    private const int BatchSize = 512;

    /// <summary>Evaluates on <paramref name="device"/> (the module is moved there); leaves the module's train/eval mode as it found it.</summary>
    public static EvalResult Evaluate(nn.Module<Tensor, Tensor> module, Dataset data, Device device)
    {
        if (data.Count == 0) return new EvalResult(0, 0, 0);
        module.to(device);
        var wasTraining = module.training;
        module.eval();
        try
        {
            using var noGrad = no_grad();
            double loss = 0, correct = 0, predictions = 0;
            for (long start = 0; start < data.Count; start += BatchSize)
            {
                using var scope = NewDisposeScope();
                var size = Math.Min(BatchSize, data.Count - start);
                var x = data.Features.narrow(0, start, size).to(device);
                var y = data.Labels.narrow(0, start, size).to(device);
                var (lossSum, hits, count) = Objective.Evaluate(module.forward(x), y, data.Kind);
                loss += lossSum.item<float>();
                correct += hits.item<long>();
                predictions += count;
            }
            return new EvalResult(loss / predictions, correct / predictions, data.Count);
        }
        finally
        {
            module.train(wasTraining);
        }
    }
}
