using Regatta.Runs;

namespace Regatta.Learning.Models;

/// <summary>Reads <c>model.parameters</c> with defaults and bounds, collecting path-prefixed errors instead of throwing.</summary>
internal sealed class ParameterReader(ModelSpec spec, List<string> errors)
{
    private readonly Dictionary<string, int> _values = new(spec.Parameters ?? [], StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _read = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The parameter's value, its default when absent (null = required), or 0 after recording an error.</summary>
    public int Get(string name, int? fallback, int min, int max)
    {
        _read.Add(name);
        if (!_values.TryGetValue(name, out var value))
        {
            if (fallback is { } d) return d;
            errors.Add($"model.parameters.{name}: required for model '{spec.Name}'");
            return 0;
        }
        if (value < min)
            errors.Add(min == 1 ? $"model.parameters.{name}: must be > 0" : $"model.parameters.{name}: must be >= {min}");
        else if (value > max)
            errors.Add($"model.parameters.{name}: must be <= {max}");
        else
            return value;
        return 0;
    }

    public void Fail(string name, string message) => errors.Add($"model.parameters.{name}: {message}");

    /// <summary>Typos would otherwise be silently replaced by defaults.</summary>
    public void RejectUnknown()
    {
        foreach (var name in _values.Keys.Where(k => !_read.Contains(k)).Order(StringComparer.Ordinal))
            errors.Add($"model.parameters.{name}: unknown parameter for model '{spec.Name}' (known: {string.Join(", ", _read)})");
    }
}
