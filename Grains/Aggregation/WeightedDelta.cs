namespace Regatta.Grains.Aggregation;

/// <summary>One client's update for a batched fold: its delta (client − global) and its example count (the weight).</summary>
public readonly record struct WeightedDelta(ReadOnlyMemory<float> Delta, double Examples);
