namespace Regatta.Grains.Aggregation;

/// <summary>
/// A round's buffered updates whose values were checked finite as they were copied in, so that
/// <see cref="RobustAggregation"/> need not read all K × P values once more to check them again.
/// </summary>
internal sealed class FiniteUpdates : List<float[]>;
