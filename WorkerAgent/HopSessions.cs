using Regatta.Learning.Models.Hf;

namespace Regatta.WorkerAgent;

/// <summary>
/// The key/value caches an agent keeps for the sessions passing through its blocks. Each session reserves the cache
/// it may grow to (its length × the shard's bytes per token) when it opens; a session that would take the
/// reservations past the budget is refused, so the router picks another replica instead of the agent running out of
/// memory. Sessions idle for <see cref="Idle"/> are dropped. Not thread-safe: the block server calls it under its lock.
/// </summary>
public sealed class HopSessions(long budgetBytes, TimeSpan idle, TimeProvider time) : IDisposable
{
    private readonly Dictionary<string, Entry> _sessions = new(StringComparer.Ordinal);

    private sealed class Entry(KvCache cache, long reserved)
    {
        public KvCache Cache { get; } = cache;
        public long Reserved { get; } = reserved;
        public DateTimeOffset LastUsed { get; set; }
    }

    public long BudgetBytes => budgetBytes;
    public TimeSpan Idle => idle;
    public int Count => _sessions.Count;
    public long ReservedBytes => _sessions.Values.Sum(e => e.Reserved);
    public long CachedBytes => _sessions.Values.Sum(e => e.Cache.Bytes);

    /// <summary>The session's cache, opened with a reservation of <paramref name="reserveBytes"/> if new; throws RegattaException("busy") when it does not fit.</summary>
    public KvCache Open(string sessionId, long reserveBytes, Func<KvCache> create)
    {
        Expire();
        var now = time.GetUtcNow();
        if (_sessions.TryGetValue(sessionId, out var entry))
        {
            entry.LastUsed = now;
            return entry.Cache;
        }
        if (reserveBytes > budgetBytes - ReservedBytes)
            throw new RegattaException("busy", $"session cache full: {ReservedBytes} of {budgetBytes} bytes reserved by {_sessions.Count} sessions, {reserveBytes} more needed");
        entry = new Entry(create(), reserveBytes) { LastUsed = now };
        _sessions[sessionId] = entry;
        return entry.Cache;
    }

    public bool Contains(string sessionId) => _sessions.ContainsKey(sessionId);

    public void Close(string sessionId)
    {
        if (_sessions.Remove(sessionId, out var entry)) entry.Cache.Dispose();
    }

    /// <summary>Drops sessions idle longer than <see cref="Idle"/>.</summary>
    public int Expire()
    {
        var cutoff = time.GetUtcNow() - idle;
        var stale = _sessions.Where(s => s.Value.LastUsed < cutoff).Select(s => s.Key).ToList();
        foreach (var id in stale) Close(id);
        return stale.Count;
    }

    public void Clear()
    {
        foreach (var id in _sessions.Keys.ToList()) Close(id);
    }

    public void Dispose() => Clear();
}
