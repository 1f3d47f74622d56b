namespace Regatta.Network;

/// <summary>
/// One streamed generation request (key: a fresh id per request, so the enumeration stays on one activation): the
/// tokens as they are produced, then the result with its usage.
/// </summary>
[Alias("regatta.IInferenceStreamGrain")]
public interface IInferenceStreamGrain : IGrainWithStringKey
{
    [Alias("Stream")] IAsyncEnumerable<GenerationEvent> Stream(GenerationRequest request);
}
