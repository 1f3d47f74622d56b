namespace Regatta;

/// <summary>A request that the run's current state or stored facts do not allow (unknown id, wrong state, ...).</summary>
[GenerateSerializer, Alias("regatta.RegattaException")]
public sealed class RegattaException(string code, string message) : Exception(message)
{
    [Id(0)] public string Code { get; } = code;
}
