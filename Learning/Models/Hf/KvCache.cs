using static TorchSharp.torch;

namespace Regatta.Learning.Models.Hf;

/// <summary>
/// One block's keys and values for one session: [1, kvHeads, tokens, headWidth] each. Appending at a position first
/// drops anything cached from that position on, so a step that is re-run (a replaced hop rebuilding from the prefix)
/// overwrites what it computed before.
/// </summary>
public sealed class KvSlot : IDisposable
{
    private Tensor? _keys;
    private Tensor? _values;

    public long Length => _keys?.shape[2] ?? 0;
    public long Bytes => _keys is null ? 0 : 2 * _keys.numel() * _keys.element_size();

    /// <summary>Keys and values of positions [0, position + new); the returned tensors belong to the slot.</summary>
    public (Tensor Keys, Tensor Values) Append(Tensor keys, Tensor values, int position)
    {
        if (position > Length) throw new InvalidOperationException($"the cache holds {Length} positions, cannot continue at {position}");
        var (k, v) = position == 0 || _keys is null
            ? (keys.clone(), values.clone())
            : (cat([_keys.narrow(2, 0, position), keys], 2), cat([_values!.narrow(2, 0, position), values], 2));
        k.DetachFromDisposeScope();
        v.DetachFromDisposeScope();
        _keys?.Dispose();
        _values?.Dispose();
        (_keys, _values) = (k, v);
        return (k, v);
    }

    public void Dispose()
    {
        _keys?.Dispose();
        _values?.Dispose();
        (_keys, _values) = (null, null);
    }
}

/// <summary>The caches of a shard's blocks for one session.</summary>
public sealed class KvCache(int blocks) : IDisposable
{
    private readonly KvSlot[] _slots = [.. Enumerable.Range(0, blocks).Select(_ => new KvSlot())];

    public KvSlot this[int index] => _slots[index];
    /// <summary>Positions cached by every block of the shard.</summary>
    public long Length => _slots.Min(s => s.Length);
    public long Bytes => _slots.Sum(s => s.Bytes);

    public void Dispose()
    {
        foreach (var s in _slots) s.Dispose();
    }
}
