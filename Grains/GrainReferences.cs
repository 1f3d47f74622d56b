namespace Regatta.Grains;

/// <summary>
/// Builds references to string-keyed grains of one interface without Orleans resolving the interface's grain type on
/// every call: <c>GetGrain&lt;T&gt;(key)</c> reads the interface's attributes by reflection each time, which was half of
/// a round opening's time at 10k members (one reference per member). The grain type and interface type are taken from
/// the first reference and reused. One per grain activation (it is not safe to share across threads).
/// </summary>
public sealed class GrainReferences<T>(IGrainFactory grains) where T : IGrainWithStringKey
{
    private (GrainType Grain, GrainInterfaceType Interface)? _types;

    public T Get(string key)
    {
        if (_types is { } types) return (T)grains.GetGrain(GrainId.Create(types.Grain, key), types.Interface);
        var first = grains.GetGrain<T>(key);
        var reference = (GrainReference)(object)first;
        _types = (reference.GrainId.Type, reference.InterfaceType);
        return first;
    }
}
