using Microsoft.Extensions.Options;
using Regatta.Network;

namespace Regatta.Grains.Network;

[GenerateSerializer, Alias("regatta.NetworkSettingsState")]
public sealed class NetworkSettingsState
{
    [Id(0)] public string Quantization { get; set; } = "none";
    /// <summary>Null until an operator sets it; the configured default applies meanwhile.</summary>
    [Id(1)] public int? TargetWorkers { get; set; }
    [Id(2)] public DateTimeOffset? UpdatedAt { get; set; }
    [Id(3)] public int? Replication { get; set; }
}

/// <summary>The operator's network settings; the model itself comes from configuration so a redeploy can change it.</summary>
public sealed class NetworkSettingsGrain(
    [PersistentState("network", StoreNames.Regatta)] IPersistentState<NetworkSettingsState> state,
    IOptions<NetworkOptions> options,
    TimeProvider time) : Grain, INetworkSettingsGrain
{
    public Task<NetworkSettings> Get() => Task.FromResult(View());

    public async Task<NetworkSettings> SetQuantization(string mode)
    {
        if (!NetworkLimits.QuantizationModes.Contains(mode))
            throw new RegattaException("bad_quantization", $"mode: must be one of {string.Join(", ", NetworkLimits.QuantizationModes)}");
        state.State.Quantization = mode;
        state.State.UpdatedAt = time.GetUtcNow();
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<ILayerMapGrain>(0).Replan(); // the mode decides how many blocks fit on each worker
        return View();
    }

    public async Task<NetworkSettings> SetReplication(int replicas)
    {
        if (replicas is < 1 or > NetworkLimits.MaxReplication)
            throw new RegattaException("bad_replication", $"replicas: must be in [1, {NetworkLimits.MaxReplication}]");
        state.State.Replication = replicas;
        state.State.UpdatedAt = time.GetUtcNow();
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<ILayerMapGrain>(0).Replan();
        return View();
    }

    public async Task<NetworkSettings> SetTargetWorkers(int count)
    {
        if (count is < 1 or > NetworkLimits.MaxTargetWorkers)
            throw new RegattaException("bad_target_workers", $"count: must be in [1, {NetworkLimits.MaxTargetWorkers}]");
        state.State.TargetWorkers = count;
        state.State.UpdatedAt = time.GetUtcNow();
        await state.WriteStateAsync();
        return View();
    }

    private NetworkSettings View() => new()
    {
        ModelName = options.Value.ModelName,
        TotalLayers = options.Value.TotalLayers,
        Quantization = state.State.Quantization,
        TargetWorkers = state.State.TargetWorkers ?? options.Value.TargetWorkers,
        Replication = state.State.Replication ?? options.Value.Replication,
        UpdatedAt = state.State.UpdatedAt,
    };
}
