using Regatta.Learning.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Regatta.Learning.Training;

/// <summary>Cross-entropy for both kinds: over classes, or over next tokens at every position.</summary>
internal static class Objective
{
    /// <summary>Summed loss and the number of correct predictions (tensors on the model's device) plus how many predictions there were.</summary>
    public static (Tensor LossSum, Tensor Correct, long Predictions) Evaluate(Tensor logits, Tensor labels, DatasetKind kind)
    {
        if (kind == DatasetKind.LanguageModel)
        {
            logits = logits.reshape(-1, logits.shape[^1]);
            labels = labels.reshape(-1);
        }
        var loss = nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum);
        var correct = logits.argmax(-1).eq(labels).sum();
        return (loss, correct, labels.shape[0]);
    }
}
