using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Regatta.Models;

namespace Regatta.Grains.Models;

/// <summary>
/// Chunked access to one content-addressed blob; one activation per hash keeps its chunk upload sequential. It also
/// grants the bearer tickets of the HTTP data plane for this hash: kept in memory only (a ticket lost with the
/// activation is simply asked for again), never more than <see cref="MaxTickets"/> at once.
/// </summary>
public sealed class BlobGrain(IBlobStore store) : Grain, IBlobGrain
{
    private const int MaxTickets = 64;
    private readonly Dictionary<string, DateTimeOffset> _tickets = [];

    private string Hash => this.GetPrimaryKeyString();
    private TimeProvider Clock => ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;

    public Task<BlobInfo?> GetInfo() => BlobStore.IsValidHash(Hash) ? store.InfoAsync(Hash) : Task.FromResult<BlobInfo?>(null);

    public Task<byte[]> ReadChunk(int index) => store.ReadChunkAsync(Hash, index);

    public Task WriteChunk(long totalLength, int index, byte[] data) => store.WriteChunkAsync(Hash, totalLength, index, data);

    public Task<List<int>> GetMissingChunks(long totalLength) => store.MissingChunksAsync(Hash, totalLength);

    public Task<BlobInfo> Seal(long totalLength) => store.SealAsync(Hash, totalLength);

    public Task<BlobTicket> GrantTicket()
    {
        BlobRules.RequireHash(Hash);
        var now = Clock.GetUtcNow();
        foreach (var (key, expires) in _tickets.ToList())
            if (expires <= now) _tickets.Remove(key);
        if (_tickets.Count >= MaxTickets) _tickets.Remove(_tickets.MinBy(t => t.Value).Key);
        var ticket = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var expiry = now + BlobLimits.TicketLifetime;
        _tickets[Key(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ticket)))] = expiry;
        // Tickets live in this activation: keep it for as long as they are honoured.
        DelayDeactivation(BlobLimits.TicketLifetime);
        return Task.FromResult(new BlobTicket(ticket, ServiceProvider.GetService<BlobDataPlane>()?.BaseUrl, expiry));
    }

    public Task<bool> CheckTicket(byte[] ticketHash) =>
        Task.FromResult(ticketHash.Length == 32 && _tickets.TryGetValue(Key(ticketHash), out var expires) && expires > Clock.GetUtcNow());

    private static string Key(byte[] ticketHash) => Convert.ToHexString(ticketHash);
}
