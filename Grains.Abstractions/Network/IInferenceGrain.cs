namespace Regatta.Network;

/// <summary>
/// Serves inference requests through chains of workers that together cover every block of the served model.
/// Stateless: any silo may route any request. Key: 0.
/// </summary>
[Alias("regatta.IInferenceGrain")]
public interface IInferenceGrain : IGrainWithIntegerKey
{
    /// <summary>Generates up to MaxNewTokens tokens; refuses unknown users, bad tokens and a network not ready.</summary>
    [Alias("Generate")] Task<GenerationResult> Generate(GenerationRequest request);
}

/// <summary>A token as it is produced (with the text it adds), or, last, the whole result.</summary>
[GenerateSerializer, Alias("regatta.GenerationEvent")]
public sealed record GenerationEvent
{
    [Id(0)] public int Token { get; init; }
    /// <summary>Text this token completes (empty while a multi-byte character is still partial); null for a model without a tokenizer.</summary>
    [Id(1)] public string? Text { get; init; }
    [Id(2)] public GenerationResult? Result { get; init; }
}

[GenerateSerializer, Alias("regatta.GenerationRequest")]
public sealed record GenerationRequest
{
    [Id(0)] public string UserId { get; init; } = "";
    [Id(1)] public List<int> PromptTokens { get; init; } = [];
    /// <summary>0 runs the prompt once and returns its next-token logits without sampling.</summary>
    [Id(2)] public int MaxNewTokens { get; init; }
    /// <summary>0 picks the most likely token (greedy).</summary>
    [Id(3)] public double Temperature { get; init; }
    /// <summary>0 samples from the whole vocabulary.</summary>
    [Id(4)] public int TopK { get; init; }
    [Id(5)] public long Seed { get; init; }
    /// <summary>Return the next-token logits of every step (for checking and scoring).</summary>
    [Id(6)] public bool ReturnLogits { get; init; }
    /// <summary>Text to encode with the model's tokenizer instead of <see cref="PromptTokens"/>.</summary>
    [Id(7)] public string? Prompt { get; init; }
    /// <summary>Wrap the prompt as a user message in the model's chat template.</summary>
    [Id(8)] public bool Chat { get; init; }
    /// <summary>Keep a key/value cache per hop (when the model supports it); false re-runs the whole sequence every step.</summary>
    [Id(9)] public bool UseSessions { get; init; } = true;
    /// <summary>Stop at the model's end-of-sequence token.</summary>
    [Id(10)] public bool StopAtEos { get; init; }
}

[GenerateSerializer, Alias("regatta.GenerationResult")]
public sealed record GenerationResult
{
    [Id(0)] public string RequestId { get; init; } = "";
    [Id(1)] public List<int> Tokens { get; init; } = [];
    [Id(2)] public int PromptTokens { get; init; }
    [Id(3)] public int CompletionTokens { get; init; }
    /// <summary>Every worker that served a step, in order of first use.</summary>
    [Id(4)] public List<string> WorkerIds { get; init; } = [];
    /// <summary>Hops that failed and were retried on another worker.</summary>
    [Id(5)] public int Retries { get; init; }
    [Id(6)] public string ModelVersion { get; init; } = "";
    /// <summary>Next-token logits per step when asked for (step 0 = after the prompt).</summary>
    [Id(7)] public List<float[]> Logits { get; init; } = [];
    [Id(8)] public TimeSpan Elapsed { get; init; }
    /// <summary>The completion as text (when the model has a tokenizer).</summary>
    [Id(9)] public string? Text { get; init; }
    /// <summary>The chain of the last step and each hop's time in it.</summary>
    [Id(10)] public List<HopTiming> Chain { get; init; } = [];
    /// <summary>Whether hops kept a key/value cache for this request.</summary>
    [Id(11)] public bool Sessions { get; init; }
}

[GenerateSerializer, Alias("regatta.HopTiming")]
public sealed record HopTiming([property: Id(0)] string WorkerId, [property: Id(1)] int From, [property: Id(2)] int To, [property: Id(3)] double Milliseconds);

public static class InferenceLimits
{
    public const int MaxNewTokens = 4096;
    public const double MaxTemperature = 10;
    public const int MaxPromptChars = 256 * 1024;
}
