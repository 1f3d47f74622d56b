using Microsoft.Extensions.Logging;
using Regatta.Network;

namespace Regatta.Grains.Network;

/// <summary>
/// Serves generation requests (<see cref="Generation"/>) through chains of workers covering blocks 0..L-1.
/// Stateless: every silo can run many at once.
/// </summary>
[Orleans.Concurrency.StatelessWorker]
public sealed class InferenceGrain(ServedTokenizers tokenizers, TimeProvider time, ILogger<InferenceGrain> logger) : Grain, IInferenceGrain
{
    public Task<GenerationResult> Generate(GenerationRequest request) =>
        new Generation(GrainFactory, tokenizers, time, logger).Run(request, _ => ValueTask.CompletedTask);
}
