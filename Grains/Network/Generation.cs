using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Regatta.Grains.Telemetry;
using Regatta.Learning.Models.Hf;
using Regatta.Network;
using Regatta.Workers;

namespace Regatta.Grains.Network;

/// <summary>
/// One generation request through the network: checks it, encodes a text prompt, runs one step per token through a
/// chain of workers covering every block, samples, and records usage once at the end. With sessions (a model whose
/// hops keep a key/value cache) the chain is pinned for the request and each step sends only the new token; a hop
/// that fails is replaced and the step re-runs the whole prefix from position 0, so the replacement (and every hop
/// after a re-route) rebuilds its cache. Without sessions every step sends the whole sequence.
/// </summary>
public sealed class Generation(IGrainFactory grains, ServedTokenizers tokenizers, TimeProvider time, ILogger logger)
{
    public async Task<GenerationResult> Run(GenerationRequest request, Func<GenerationEvent, ValueTask> onToken)
    {
        try
        {
            return await Serve(request, onToken);
        }
        catch (RegattaException e)
        {
            RegattaMetrics.InferenceFailed(e.Code);
            throw;
        }
    }

    private async Task<GenerationResult> Serve(GenerationRequest request, Func<GenerationEvent, ValueTask> onToken)
    {
        var started = Stopwatch.GetTimestamp();
        var user = grains.GetGrain<IUserGrain>(Ids.Require(request.UserId, "user_id"));
        if (await user.Get() is null) throw new RegattaException("unknown_user", $"user '{request.UserId}' is not registered");
        var map = grains.GetGrain<ILayerMapGrain>(0);
        var model = await map.GetModel();
        var tokenizer = model.TokenizerHash is { } hash ? await tokenizers.Get(hash) : null;
        var prompt = Prompt(request, model, tokenizer);
        Check(request, prompt, model);
        var plan = await map.GetView();
        if (!plan.ReadyForInference)
            throw new RegattaException("not_ready", $"workers serve {plan.CoveragePercent}% of the model's {plan.Blocks} blocks " +
                $"({plan.PlannedCoveragePercent}% are assigned); every block needs a worker whose agent serves it");

        var requestId = Guid.NewGuid().ToString("n");
        var chain = new HopChain(grains, new ChainRouter(plan.Serving), model, requestId, request.UseSessions && model.Sessions,
            prompt.Count + request.MaxNewTokens, logger);
        var sampler = new TokenSampler(request.Temperature, request.TopK, request.Seed);
        var tokens = new List<int>(prompt);
        var logits = new List<float[]>();
        var emitted = 0;
        var steps = Math.Max(1, request.MaxNewTokens);
        try
        {
            for (var step = 0; step < steps; step++)
            {
                var next = await chain.Step(tokens, step == 0 ? tokens.Count : 1, last: step == steps - 1);
                if (request.ReturnLogits) logits.Add(next);
                if (request.MaxNewTokens == 0) break;
                var token = sampler.Next(next);
                tokens.Add(token);
                string? delta = null;
                if (tokenizer is not null)
                {
                    // Decode the whole completion so a character split over tokens comes out whole, once complete.
                    var text = tokenizer.Decode(tokens.Skip(prompt.Count));
                    var upTo = text.EndsWith('\uFFFD') ? emitted : text.Length;
                    delta = upTo > emitted ? text[emitted..upTo] : "";
                    emitted = Math.Max(emitted, upTo);
                }
                await onToken(new GenerationEvent { Token = token, Text = delta });
                if (request.StopAtEos && model.EosTokens.Contains(token)) break;
            }
        }
        finally
        {
            await chain.Close(); // stopped early or failed: free the caches now
        }

        var completion = tokens.Count - prompt.Count;
        var entry = new UsageEntry
        {
            UserId = request.UserId,
            PromptTokens = prompt.Count,
            CompletionTokens = completion,
            WorkerIds = [.. chain.Used.Take(UsageLimits.MaxWorkersPerRequest)],
            At = time.GetUtcNow(),
            RequestId = requestId,
        };
        await user.RecordUsage(entry.PromptTokens, entry.CompletionTokens, entry.At);
        await grains.GetGrain<IUsageLogGrain>(0).Append(entry);
        RegattaMetrics.InferenceServed(prompt.Count, completion);
        logger.LogInformation("Request {RequestId} of {UserId}: {Prompt}+{Completion} tokens through {Workers} ({Retries} retried hops, sessions {Sessions})",
            requestId, request.UserId, entry.PromptTokens, completion, string.Join(" → ", chain.Used), chain.Retries, chain.Sessions);
        return new GenerationResult
        {
            RequestId = requestId,
            Tokens = tokens[prompt.Count..],
            PromptTokens = prompt.Count,
            CompletionTokens = completion,
            WorkerIds = chain.Used,
            Retries = chain.Retries,
            ModelVersion = model.Version,
            Logits = logits,
            Elapsed = Stopwatch.GetElapsedTime(started),
            Text = tokenizer?.Decode(tokens.Skip(prompt.Count)),
            Chain = chain.LastTimings,
            Sessions = chain.Sessions,
        };
    }

    private static List<int> Prompt(GenerationRequest r, ServedModel model, HfTokenizer? tokenizer)
    {
        if (r.Prompt is null)
        {
            if (r.Chat) throw new RegattaException("bad_request", "chat: needs a text prompt");
            return r.PromptTokens;
        }
        if (r.PromptTokens.Count > 0) throw new RegattaException("bad_request", "prompt: give either prompt or prompt_tokens, not both");
        if (r.Prompt.Length == 0 || r.Prompt.Length > InferenceLimits.MaxPromptChars)
            throw new RegattaException("bad_request", $"prompt: must be 1 to {InferenceLimits.MaxPromptChars} characters");
        if (tokenizer is null) throw new RegattaException("bad_request", $"prompt: the served model ({model.Source}) has no tokenizer; give prompt_tokens");
        try
        {
            return tokenizer.Encode(r.Chat ? tokenizer.ChatPrompt([("user", r.Prompt)]) : r.Prompt);
        }
        catch (ArgumentException e)
        {
            throw new RegattaException("bad_request", $"chat: {e.Message}");
        }
    }

    private static void Check(GenerationRequest r, List<int> prompt, ServedModel model)
    {
        if (prompt.Count == 0) throw new RegattaException("bad_request", "prompt_tokens: at least one token is required");
        for (var i = 0; i < prompt.Count; i++)
            if (prompt[i] < 0 || prompt[i] >= model.Vocab)
                throw new RegattaException("bad_request", $"prompt_tokens[{i}]: {prompt[i]} is not a token of the model's vocabulary [0, {model.Vocab})");
        if (r.MaxNewTokens is < 0 or > InferenceLimits.MaxNewTokens)
            throw new RegattaException("bad_request", $"max_new_tokens: must be in [0, {InferenceLimits.MaxNewTokens}]");
        // There is no sliding window: the whole sequence must fit the model's context.
        if (prompt.Count + r.MaxNewTokens > model.Context)
            throw new RegattaException("bad_request", $"max_new_tokens: {prompt.Count} prompt tokens + {r.MaxNewTokens} new ones exceed the model's context of {model.Context}");
        if (!double.IsFinite(r.Temperature) || r.Temperature is < 0 or > InferenceLimits.MaxTemperature)
            throw new RegattaException("bad_request", $"temperature: must be in [0, {InferenceLimits.MaxTemperature}]");
        if (r.TopK < 0 || r.TopK > model.Vocab) throw new RegattaException("bad_request", $"top_k: must be in [0, {model.Vocab}]");
    }
}
