namespace Regatta.Learning.Data;

/// <summary>A run's data pool split into its members' partitions (<see cref="DataCatalog.Partitions"/>); owns the pool.</summary>
public sealed class PartitionSet : IDisposable
{
    private readonly Dataset _pool;
    private readonly long[][] _parts;
    private readonly double _holdOut;

    internal PartitionSet(Dataset pool, long[][] parts, double holdOut) => (_pool, _parts, _holdOut) = (pool, parts, holdOut);

    public int Count => _parts.Length;

    /// <summary>
    /// Partition <paramref name="partition"/> (modulo <see cref="Count"/>, as members map onto partitions) split into its
    /// training part and its held-out part for witness evaluation; both are copies the caller owns.
    /// </summary>
    public (Dataset Train, Dataset HoldOut) Take(int partition)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        var mine = _parts[partition % _parts.Length];
        var held = DataCatalog.HeldOutCount(mine.Length, _holdOut);
        return (_pool.Select(mine[..^held]), _pool.Select(mine[^held..]));
    }

    public void Dispose() => _pool.Dispose();
}
