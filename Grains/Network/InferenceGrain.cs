using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Regatta.Grains.Telemetry;
using Regatta.Network;
using Regatta.Workers;

namespace Regatta.Grains.Network;

/// <summary>
/// Routes a generation request through chains of workers covering blocks 0..L-1, one step per token: the first hop
/// gets the token ids, each next one the hidden states of the last, and the last returns next-token logits. A hop
/// that fails is retried from the same block on another worker holding it. Usage is recorded once, when the
/// request completes. Stateless: every silo can run many at once.
/// </summary>
[Orleans.Concurrency.StatelessWorker]
public sealed class InferenceGrain(TimeProvider time, ILogger<InferenceGrain> logger) : Grain, IInferenceGrain
{
    public async Task<GenerationResult> Generate(GenerationRequest request)
    {
        try
        {
            return await Serve(request);
        }
        catch (RegattaException e)
        {
            RegattaMetrics.InferenceFailed(e.Code);
            throw;
        }
    }

    private async Task<GenerationResult> Serve(GenerationRequest request)
    {
        var started = Stopwatch.GetTimestamp();
        var user = GrainFactory.GetGrain<IUserGrain>(Ids.Require(request.UserId, "user_id"));
        if (await user.Get() is null) throw new RegattaException("unknown_user", $"user '{request.UserId}' is not registered");
        var map = GrainFactory.GetGrain<ILayerMapGrain>(0);
        var model = await map.GetModel();
        Check(request, model);
        var plan = await map.GetView();
        if (!plan.ReadyForInference)
            throw new RegattaException("not_ready", $"workers serve {plan.CoveragePercent}% of the model's {plan.Blocks} blocks " +
                $"({plan.PlannedCoveragePercent}% are assigned); every block needs a worker whose agent serves it");

        var requestId = Guid.NewGuid().ToString("n");
        var router = new ChainRouter(plan.Serving);
        var sampler = new TokenSampler(request.Temperature, request.TopK, request.Seed);
        var excluded = new HashSet<string>(StringComparer.Ordinal);
        var used = new List<string>();
        var tokens = new List<int>(request.PromptTokens);
        var logits = new List<float[]>();
        var retries = 0;
        var steps = Math.Max(1, request.MaxNewTokens);
        for (var step = 0; step < steps; step++)
        {
            var next = await Step(step == 0 ? tokens.Count : 1);
            if (request.ReturnLogits) logits.Add(next);
            if (request.MaxNewTokens > 0) tokens.Add(sampler.Next(next));
        }

        var completion = tokens.Count - request.PromptTokens.Count;
        var entry = new UsageEntry
        {
            UserId = request.UserId,
            PromptTokens = request.PromptTokens.Count,
            CompletionTokens = completion,
            WorkerIds = [.. used.Take(UsageLimits.MaxWorkersPerRequest)],
            At = time.GetUtcNow(),
            RequestId = requestId,
        };
        await user.RecordUsage(entry.PromptTokens, entry.CompletionTokens, entry.At);
        await GrainFactory.GetGrain<IUsageLogGrain>(0).Append(entry);
        RegattaMetrics.InferenceServed(request.PromptTokens.Count, completion);
        logger.LogInformation("Request {RequestId} of {UserId}: {Prompt}+{Completion} tokens through {Workers} ({Retries} retried hops)",
            requestId, request.UserId, entry.PromptTokens, completion, string.Join(" → ", used), retries);
        return new GenerationResult
        {
            RequestId = requestId,
            Tokens = tokens[request.PromptTokens.Count..],
            PromptTokens = request.PromptTokens.Count,
            CompletionTokens = completion,
            WorkerIds = used,
            Retries = retries,
            ModelVersion = model.Version,
            Logits = logits,
            Elapsed = Stopwatch.GetElapsedTime(started),
        };

        async Task<float[]> Step(int newTokens)
        {
            var input = new ForwardRequest
            {
                RequestId = requestId,
                ModelVersion = model.Version,
                Tokens = [.. tokens],
                Time = tokens.Count,
                NewTokens = newTokens,
            };
            for (var block = 0; ;)
            {
                var hop = router.Next(block, excluded)
                    ?? throw new RegattaException("no_server", $"no online worker is left to serve block {block} (failed this request: {string.Join(", ", excluded)})");
                var hopStarted = Stopwatch.GetTimestamp();
                ForwardResult result;
                try
                {
                    result = await GrainFactory.GetGrain<IWorkerClusterGrain>(hop.WorkerId).Forward(input with { From = hop.From, To = hop.To });
                    RegattaMetrics.Hop(Stopwatch.GetElapsedTime(hopStarted), succeeded: true);
                }
                catch (Exception e) when (e is RegattaException or TimeoutException or OrleansException)
                {
                    RegattaMetrics.Hop(Stopwatch.GetElapsedTime(hopStarted), succeeded: false);
                    logger.LogWarning("Request {RequestId}: worker {WorkerId} failed blocks [{From},{To}): {Error}; retrying on another",
                        requestId, hop.WorkerId, hop.From, hop.To, e.Message);
                    excluded.Add(hop.WorkerId);
                    retries++;
                    continue;
                }
                if (!used.Contains(hop.WorkerId)) used.Add(hop.WorkerId);
                block = hop.To;
                if (block == model.Blocks)
                    return Checked(result.Logits, model.Vocab, "logits", hop.WorkerId);
                input = input with { Tokens = null, Hidden = Checked(result.Hidden, input.Time * Width(model), "hidden states", hop.WorkerId) };
            }
        }
    }

    private static int Width(ServedModel model) => model.Spec.Parameters["width"];

    /// <summary>What a worker sends back is outside input too: the wrong size or a non-finite value fails the request.</summary>
    private static float[] Checked(float[]? values, int length, string what, string workerId)
    {
        if (values is null || values.Length != length)
            throw new RegattaException("bad_hop", $"worker '{workerId}' returned {values?.Length ?? 0} values of {what}, expected {length}");
        if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(values))
            throw new RegattaException("bad_hop", $"worker '{workerId}' returned non-finite {what}");
        return values;
    }

    private static void Check(GenerationRequest r, ServedModel model)
    {
        if (r.PromptTokens.Count == 0) throw new RegattaException("bad_request", "prompt_tokens: at least one token is required");
        for (var i = 0; i < r.PromptTokens.Count; i++)
            if (r.PromptTokens[i] < 0 || r.PromptTokens[i] >= model.Vocab)
                throw new RegattaException("bad_request", $"prompt_tokens[{i}]: {r.PromptTokens[i]} is not a token of the model's vocabulary [0, {model.Vocab})");
        if (r.MaxNewTokens is < 0 or > InferenceLimits.MaxNewTokens)
            throw new RegattaException("bad_request", $"max_new_tokens: must be in [0, {InferenceLimits.MaxNewTokens}]");
        // Positions are learned up to the context length and there is no sliding window: the whole sequence must fit.
        if (r.PromptTokens.Count + r.MaxNewTokens > model.Context)
            throw new RegattaException("bad_request", $"max_new_tokens: {r.PromptTokens.Count} prompt tokens + {r.MaxNewTokens} new ones exceed the model's context of {model.Context}");
        if (!double.IsFinite(r.Temperature) || r.Temperature is < 0 or > InferenceLimits.MaxTemperature)
            throw new RegattaException("bad_request", $"temperature: must be in [0, {InferenceLimits.MaxTemperature}]");
        if (r.TopK < 0 || r.TopK > model.Vocab) throw new RegattaException("bad_request", $"top_k: must be in [0, {model.Vocab}]");
    }
}
