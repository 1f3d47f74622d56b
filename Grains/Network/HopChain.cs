using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Regatta.Grains.Telemetry;
using Regatta.Network;
using Regatta.Workers;

namespace Regatta.Grains.Network;

/// <summary>
/// The hops of one request's steps. The first hop gets token ids, each next one the hidden states of the last, the
/// last returns next-token logits. A hop that fails (gone, timed out, refused, or full) is left out for the rest of
/// the request and the step re-runs on a new chain. With sessions the chain is kept between steps (the caches live
/// on its workers) and a re-run starts from position 0 so every hop of the new chain rebuilds its cache.
/// </summary>
public sealed class HopChain(IGrainFactory grains, ChainRouter router, ServedModel model, string requestId, bool sessions, int sessionLength, ILogger logger)
{
    private readonly HashSet<string> _excluded = new(StringComparer.Ordinal);
    private List<Hop>? _chain;
    private int _cached; // positions every hop of the chain holds
    private bool _closed;

    public bool Sessions => sessions;
    /// <summary>Models published before the width was recorded carry it in their spec.</summary>
    private int Width => model.Width > 0 ? model.Width : model.Spec.Parameters["width"];
    public List<string> Used { get; } = [];
    public int Retries { get; private set; }
    public List<HopTiming> LastTimings { get; private set; } = [];

    /// <summary>Next-token logits after <paramref name="tokens"/>; <paramref name="newTokens"/> is what the workers count as served.</summary>
    public async Task<float[]> Step(List<int> tokens, int newTokens, bool last)
    {
        while (true)
        {
            if (!sessions) _chain = null; // route each step afresh: replicas share the load
            _chain ??= router.Chain(model.Blocks, _excluded)
                ?? throw new RegattaException("no_server", $"no online worker is left to serve some block (failed this request: {string.Join(", ", _excluded)})");
            var position = sessions ? _cached : 0;
            var input = new ForwardRequest
            {
                RequestId = requestId,
                ModelVersion = model.Version,
                Tokens = [.. tokens.Skip(position)],
                Time = tokens.Count - position,
                NewTokens = newTokens,
                SessionId = sessions ? requestId : null,
                Position = position,
                SessionLength = sessions ? sessionLength : 0,
                EndSession = sessions && last,
            };
            var timings = new List<HopTiming>(_chain.Count);
            float[]? logits = null;
            foreach (var hop in _chain)
            {
                var hopStarted = Stopwatch.GetTimestamp();
                ForwardResult result;
                try
                {
                    result = await grains.GetGrain<IWorkerClusterGrain>(hop.WorkerId).Forward(input with { From = hop.From, To = hop.To });
                    RegattaMetrics.Hop(Stopwatch.GetElapsedTime(hopStarted), succeeded: true);
                }
                catch (RegattaException e) when (e.Code == "session_lost" && position > 0)
                {
                    // The cache expired or was dropped there: the same chain rebuilds from the prefix.
                    logger.LogInformation("Request {RequestId}: worker {WorkerId} lost the session ({Error}); rebuilding from the prefix", requestId, hop.WorkerId, e.Message);
                    _cached = 0;
                    break;
                }
                catch (Exception e) when (e is RegattaException or TimeoutException or OrleansException)
                {
                    RegattaMetrics.Hop(Stopwatch.GetElapsedTime(hopStarted), succeeded: false);
                    logger.LogWarning("Request {RequestId}: worker {WorkerId} failed blocks [{From},{To}): {Error}; re-routing",
                        requestId, hop.WorkerId, hop.From, hop.To, e.Message);
                    _excluded.Add(hop.WorkerId);
                    Retries++;
                    (_chain, _cached) = (null, 0);
                    break;
                }
                timings.Add(new HopTiming(hop.WorkerId, hop.From, hop.To, Math.Round(Stopwatch.GetElapsedTime(hopStarted).TotalMilliseconds, 2)));
                if (!Used.Contains(hop.WorkerId)) Used.Add(hop.WorkerId);
                if (hop.To == model.Blocks) logits = Checked(result.Logits, model.Vocab, "logits", hop.WorkerId);
                else input = input with { Tokens = null, Hidden = Checked(result.Hidden, input.Time * Width, "hidden states", hop.WorkerId) };
            }
            if (logits is null) continue;
            LastTimings = timings;
            _cached = tokens.Count;
            _closed = last; // the hops dropped the session with the last step
            return logits;
        }
    }

    /// <summary>Frees the session's caches on the chain's hops when the request ends before its last planned step; best effort (idle expiry frees what this misses).</summary>
    public async Task Close()
    {
        if (!sessions || _chain is not { } chain || _closed) return;
        _closed = true;
        var close = new ForwardRequest { RequestId = requestId, ModelVersion = model.Version, SessionId = requestId, EndSession = true, Time = 0, Tokens = [] };
        await Task.WhenAll(chain.Select(async hop =>
        {
            try
            {
                await grains.GetGrain<IWorkerClusterGrain>(hop.WorkerId).Forward(close with { From = hop.From, To = hop.To });
            }
            catch (Exception e) when (e is RegattaException or TimeoutException or OrleansException)
            {
                logger.LogDebug("Request {RequestId}: closing the session on {WorkerId} failed: {Error}", requestId, hop.WorkerId, e.Message);
            }
        }));
    }

    /// <summary>What a worker sends back is outside input too: the wrong size or a non-finite value fails the request.</summary>
    private static float[] Checked(float[]? values, int length, string what, string workerId)
    {
        if (values is null || values.Length != length)
            throw new RegattaException("bad_hop", $"worker '{workerId}' returned {values?.Length ?? 0} values of {what}, expected {length}");
        if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(values))
            throw new RegattaException("bad_hop", $"worker '{workerId}' returned non-finite {what}");
        return values;
    }
}
