namespace Regatta.Grains.Aggregation;

/// <summary>
/// The outcome of one round's aggregation: the aggregated delta (to be added to the global model,
/// or fed to <see cref="FedAdam"/> as its pseudo-gradient) and, for Krum and Multi-Krum, the indices
/// (in the order the updates were added) of the updates that were chosen, best-scored first.
/// </summary>
public sealed record AggregateResult(float[] Delta, IReadOnlyList<int>? Selected);
