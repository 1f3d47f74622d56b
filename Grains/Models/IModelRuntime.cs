using Regatta.Learning.Weights;
using Regatta.Runs;

namespace Regatta.Grains.Models;

/// <summary>What the coordinator needs from the model code: a seeded initial model and a held-out evaluation.</summary>
public interface IModelRuntime
{
    /// <summary>Errors in the model and data parts of a spec, each with its path.</summary>
    List<string> Validate(RunSpec spec);
    ModelWeights InitialWeights(RunSpec spec);
    /// <summary>Loss and accuracy on the coordinator's held-out set; null when the spec asks for none.</summary>
    (double Loss, double Accuracy)? Evaluate(RunSpec spec, ModelWeights weights);
}
