using Microsoft.Extensions.Logging;
using Regatta.Learning.Models;
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
public sealed class BlockServer(string workerId, string device, ModelTransfer transfer, ILogger logger) : IBlockServer, IDisposable
{
    private readonly SemaphoreSlim _compute = new(1, 1);
    private readonly Lock _gate = new();
    private Loaded? _loaded;
    private long _tokensServed;

    private sealed record Loaded(string Version, LayerRange Layers, TransformerShard Shard);

    /// <summary>Test hook for injected faults: extra time each hop takes (a slow or overloaded worker).</summary>
    public TimeSpan HopDelay { get; init; }
    private long _tokensServedTotal;
    public long TokensServedTotal => Interlocked.Read(ref _tokensServedTotal);
    public (string Version, LayerRange Layers)? Holding => _loaded is { } l ? (l.Version, l.Layers) : null;

    public long TakeTokensServed() => Interlocked.Exchange(ref _tokensServed, 0);
    public void ReturnTokensServed(long tokens) => Interlocked.Add(ref _tokensServed, tokens);

    public async Task LoadAsync(ServedModel model, LayerRange layers, string quantization, CancellationToken ct)
    {
        if (ModelCatalog.Describe(model.Spec) is not TransformerArchitecture architecture)
            throw new InvalidOperationException($"the served model '{model.Spec.Name}' is not a transformer");
        var needed = TransformerParts.Needed(layers.Start, layers.End, model.Blocks).ToList();
        var parts = new List<ModelWeights>(needed.Count);
        var progress = new Progress<double>();
        for (var i = 0; i < needed.Count; i++)
        {
            var bytes = await transfer.FetchAsync(model.PartHashes[needed[i]], null, ct);
            parts.Add(ModelWeights.FromBytes(bytes));
            logger.LogInformation("Serving: part {Index}/{Count} of {Version} ready ({Bytes} bytes)", i + 1, needed.Count, model.Version[..12], bytes.Length);
        }
        var dtype = quantization switch
        {
            "float16" => torch.ScalarType.Float16,
            "bfloat16" => torch.ScalarType.BFloat16,
            _ => torch.ScalarType.Float32,
        };
        if (quantization is "int8" or "nf4")
            logger.LogWarning("Serving: {Mode} is planned for but this agent holds its blocks as float32 (integer kernels are not implemented)", quantization);
        var shard = new TransformerShard(architecture, layers.Start, layers.End, parts, DeviceChoice.Resolve(device), dtype);
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
        if (HopDelay > TimeSpan.Zero) await Task.Delay(HopDelay);
        await _compute.WaitAsync();
        float[] output;
        try
        {
            // TorchSharp work off the Orleans client's message thread.
            output = await Task.Run(() => loaded.Shard.Forward(request.From, request.To, request.Tokens, request.Hidden, request.Time));
        }
        finally
        {
            _compute.Release();
        }
        Interlocked.Add(ref _tokensServed, request.NewTokens);
        Interlocked.Add(ref _tokensServedTotal, request.NewTokens);
        return request.To == loaded.Shard.Architecture.Blocks
            ? new ForwardResult { Logits = output, WorkerId = workerId }
            : new ForwardResult { Hidden = output, WorkerId = workerId };
    }

    private async Task DisposeWhenIdle(TransformerShard shard)
    {
        await _compute.WaitAsync();
        try { shard.Dispose(); }
        finally { _compute.Release(); }
    }

    public void Dispose()
    {
        _loaded?.Shard.Dispose();
        _compute.Dispose();
    }
}
