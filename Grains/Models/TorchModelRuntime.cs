using Microsoft.Extensions.Options;
using Regatta.Grains.Runs;
using Regatta.Learning.Data;
using Regatta.Learning.Models;
using Regatta.Learning.Training;
using Regatta.Learning.Weights;
using Regatta.Runs;
using TorchSharp;

namespace Regatta.Grains.Models;

/// <summary>The coordinator's use of the model code: seeded initial weights and its own held-out validation.</summary>
public sealed class TorchModelRuntime(IOptions<CoordinatorOptions> options) : IModelRuntime
{
    // The validation set of a spec is generated once per silo; specs are compared by value.
    private readonly Dictionary<DataSpec, Dataset> _validation = new();
    private readonly Lock _gate = new();

    public List<string> Validate(RunSpec spec) => [.. ModelCatalog.Validate(spec.Model), .. DataCatalog.Validate(spec.Data, spec.Model)];

    public ModelWeights InitialWeights(RunSpec spec)
    {
        using var scope = torch.NewDisposeScope();
        return WeightsIO.Read(ModelCatalog.Create(spec.Model, spec.Seed));
    }

    public (double Loss, double Accuracy)? Evaluate(RunSpec spec, ModelWeights weights)
    {
        if (spec.Data.ValidationSamples == 0) return null;
        Dataset data;
        lock (_gate)
        {
            if (!_validation.TryGetValue(spec.Data, out data!))
                _validation[spec.Data] = data = DataCatalog.ValidationSet(DataFiles.ForSilo(spec.Data, options.Value.DataRootPath), spec.Seed, spec.Model);
        }
        using var scope = torch.NewDisposeScope();
        var model = ModelCatalog.Create(spec.Model, spec.Seed);
        WeightsIO.Load(model, weights);
        var result = Evaluator.Evaluate(model, data, torch.CPU);
        return (result.Loss, result.Accuracy);
    }
}
