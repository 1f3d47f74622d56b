namespace Regatta.Network;

/// <summary>The network's settings as served, and the served model they were patched from.</summary>
public sealed record ServedNetwork(NetworkSettings Settings, ServedModel Model);

/// <summary>Reads the network as the API and the dashboard show it.</summary>
public static class NetworkView
{
    /// <summary>
    /// The stored settings with the model name and block count of the model actually served (the layer map's): an
    /// operator may serve a run's checkpoint of another shape than the one the settings name.
    /// </summary>
    public static async Task<ServedNetwork> ReadAsync(IGrainFactory grains)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var settings = grains.GetGrain<INetworkSettingsGrain>(0).Get();
        var model = await grains.GetGrain<ILayerMapGrain>(0).GetModel();
        return new ServedNetwork((await settings) with { ModelName = model.Spec.Name, TotalLayers = model.Blocks }, model);
    }
}
