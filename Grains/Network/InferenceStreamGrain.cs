using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Regatta.Network;

namespace Regatta.Grains.Network;

/// <summary>Runs one <see cref="Generation"/> and hands its tokens to the caller as they come, the result last.</summary>
public sealed class InferenceStreamGrain(ServedTokenizers tokenizers, TimeProvider time, ILogger<InferenceStreamGrain> logger) : Grain, IInferenceStreamGrain
{
    public async IAsyncEnumerable<GenerationEvent> Stream(GenerationRequest request)
    {
        var grains = GrainFactory; // read on the activation's thread; the generation runs off it
        var events = Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var run = Task.Run(async () =>
        {
            try
            {
                var result = await new Generation(grains, tokenizers, time, logger).Run(request, e => events.Writer.WriteAsync(e));
                events.Writer.TryWrite(new GenerationEvent { Result = result });
                events.Writer.TryComplete();
            }
            catch (Exception e)
            {
                events.Writer.TryComplete(e);
            }
        });
        await foreach (var e in events.Reader.ReadAllAsync()) yield return e;
        await run;
        DeactivateOnIdle(); // one request per activation
    }
}
