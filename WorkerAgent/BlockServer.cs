using Microsoft.Extensions.Logging;
using Regatta.Learning.Models;
using Regatta.Learning.Models.Hf;
using Regatta.Learning.Training;
using Regatta.Learning.Weights;
using Regatta.Network;
using Regatta.Workers;
using TorchSharp;

namespace Regatta.WorkerAgent;

/// <summary>
/// The agent's share of the inference network: downloads only the parts of the served model its layer range needs,
/// holds them as a <see cref="TransformerShard"/>, and answers forward hops routed to it by the cluster (it is the
/// Orleans observer its worker grain calls). Counts the tokens it serves for the next heartbeat.
/// </summary>
public sealed class BlockServer(string workerId, string device, ModelTransfer transfer, ILogger logger, HopSessions? sessions = null) : IBlockServer, IDisposable
{
    /// <summary>Cache memory for sessions unless the agent says otherwise.</summary>
    public const long DefaultSessionBytes = 256L << 20;
    public static readonly TimeSpan DefaultSessionIdle = TimeSpan.FromMinutes(2);

    private readonly HopSessions _sessions = sessions ?? new HopSessions(DefaultSessionBytes, DefaultSessionIdle, TimeProvider.System);
    private readonly SemaphoreSlim _compute = new(1, 1);
    private readonly Lock _gate = new();
    private Loaded? _loaded;
    private long _tokensServed;

    private sealed record Loaded(string Version, LayerRange Layers, IBlockShard Shard);

    /// <summary>Test hook for injected faults: extra time each hop takes (a slow or overloaded worker).</summary>
    public TimeSpan HopDelay { get; init; }
    private long _tokensServedTotal;
    public long TokensServedTotal => Interlocked.Read(ref _tokensServedTotal);
    public (string Version, LayerRange Layers)? Holding => _loaded is { } l ? (l.Version, l.Layers) : null;

    public HopSessions Sessions => _sessions;

    public long TakeTokensServed() => Interlocked.Exchange(ref _tokensServed, 0);
    public void ReturnTokensServed(long tokens) => Interlocked.Add(ref _tokensServed, tokens);

    public async Task LoadAsync(ServedModel model, LayerRange layers, string quantization, CancellationToken ct)
    {
        var architecture = model.HfConfig is null ? ModelCatalog.Describe(model.Spec) as TransformerArchitecture
            ?? throw new InvalidOperationException($"the served model '{model.Spec.Name}' is not a transformer") : null;
        var needed = TransformerParts.Needed(layers.Start, layers.End, model.Blocks).ToList();
        var parts = new List<byte[]>(needed.Count);
        var progress = new Progress<double>();
        for (var i = 0; i < needed.Count; i++)
        {
            var bytes = await transfer.FetchAsync(model.PartHashes[needed[i]], null, ct);
            parts.Add(bytes);
            logger.LogInformation("Serving: part {Index}/{Count} of {Version} ready ({Bytes} bytes)", i + 1, needed.Count, model.Version[..12], bytes.Length);
        }
        var published = model.DType switch
        {
            "float16" => torch.ScalarType.Float16,
            "bfloat16" => torch.ScalarType.BFloat16,
            _ => torch.ScalarType.Float32,
        };
        var dtype = quantization switch
        {
            "float16" => torch.ScalarType.Float16,
            "bfloat16" => torch.ScalarType.BFloat16,
            "float32" => torch.ScalarType.Float32,
            _ => published,
        };
        if (quantization is "int8" or "nf4")
            logger.LogWarning("Serving: {Mode} is planned for but this agent holds its blocks as {Type} (integer kernels are not implemented)", quantization, dtype);
        IBlockShard shard = architecture is not null
            ? new TransformerShard(architecture, layers.Start, layers.End, parts.Select(p => ModelWeights.FromBytes(p)), DeviceChoice.Resolve(device), dtype)
            : new HfShard(HfConfig.Parse(model.HfConfig!), layers.Start, layers.End, parts, DeviceChoice.Resolve(device), dtype);
        parts.Clear();
        Loaded? old;
        lock (_gate)
        {
            old = _loaded;
            _loaded = new Loaded(model.Version, layers, shard);
        }
        if (old is not null) await DisposeWhenIdle(old.Shard);
        logger.LogInformation("Serving blocks {Layers} of {Version} ({Parameters} parameters, {Type})", layers, model.Version[..12], shard.ParameterCount, dtype);
    }

    public async Task UnloadAsync()
    {
        Loaded? old;
        lock (_gate)
        {
            old = _loaded;
            _loaded = null;
        }
        if (old is not null)
        {
            await DisposeWhenIdle(old.Shard);
            logger.LogInformation("Serving: released blocks {Layers}", old.Layers);
        }
    }

    public async Task<ForwardResult> Forward(ForwardRequest request)
    {
        var loaded = _loaded;
        if (loaded is null || loaded.Version != request.ModelVersion || request.From < loaded.Layers.Start || request.To > loaded.Layers.End)
            throw new InvalidOperationException($"this agent holds {loaded?.Layers.ToString() ?? "no blocks"}, not [{request.From},{request.To}) of {request.ModelVersion}");
        if (request.NewTokens < 0 || request.NewTokens > request.Time)
            throw new ArgumentException($"newTokens {request.NewTokens} is not within [0, {request.Time}]");
        if (request is { SessionId: { } closing, EndSession: true, Time: 0 })
        {
            // A request that ended early (end of sequence, or failed) frees its cache here now, not at idle expiry.
            await _compute.WaitAsync();
            try { _sessions.Close(closing); }
            finally { _compute.Release(); }
            return new ForwardResult { WorkerId = workerId };
        }
        if (HopDelay > TimeSpan.Zero) await Task.Delay(HopDelay);
        await _compute.WaitAsync();
        float[] output;
        try
        {
            KvCache? cache = null;
            if (request.SessionId is { } session)
            {
                if (loaded.Shard.CacheBytesPerToken == 0) throw new RegattaException("no_sessions", "the served model keeps no session cache");
                if (request.SessionLength < request.Position + request.Time)
                    throw new ArgumentException($"session length {request.SessionLength} is less than the positions given");
                if (request.Position > 0 && !_sessions.Contains(session))
                    throw new RegattaException("session_lost", $"this agent holds no cache for session {session} (expired or never opened here)");
                cache = _sessions.Open(session, request.SessionLength * loaded.Shard.CacheBytesPerToken, () => loaded.Shard.NewCache()!);
                if (request.Position > cache.Length)
                    throw new RegattaException("session_lost", $"session {session} holds {cache.Length} positions here, not {request.Position}");
            }
            // TorchSharp work off the Orleans client's message thread.
            output = await Task.Run(() => loaded.Shard.Forward(request.From, request.To, request.Tokens, request.Hidden, request.Time, request.Position, cache));
            if (request.SessionId is { } ended && request.EndSession) _sessions.Close(ended);
        }
        finally
        {
            _compute.Release();
        }
        Interlocked.Add(ref _tokensServed, request.NewTokens);
        Interlocked.Add(ref _tokensServedTotal, request.NewTokens);
        return request.To == loaded.Shard.Blocks
            ? new ForwardResult { Logits = output, WorkerId = workerId }
            : new ForwardResult { Hidden = output, WorkerId = workerId };
    }

    private async Task DisposeWhenIdle(IBlockShard shard)
    {
        await _compute.WaitAsync();
        try
        {
            _sessions.Clear(); // caches of the old blocks mean nothing to the new ones
            shard.Dispose();
        }
        finally { _compute.Release(); }
    }

    public void Dispose()
    {
        _sessions.Dispose();
        _loaded?.Shard.Dispose();
        _compute.Dispose();
    }
}
