using System.Buffers;
using System.Security.Cryptography;
using System.Threading.Channels;

namespace Regatta.Models;

/// <summary>
/// SHA-256 of a blob computed on a second thread while the caller moves the next bytes (socket, disk). SHA-256 runs at
/// about 1.4 GB/s on one core, slower than loopback TCP, so hashing in line with the transfer would halve its speed;
/// here the hash overlaps the I/O and costs only the time by which it outlasts it. Bytes are hashed in the order they
/// are appended. Used by the silo's disk store (uploads) and by the agent (downloads), so both check every byte against
/// the content address exactly once.
/// <para>
/// Memory is bounded: <see cref="RentAsync"/> hands out at most <c>buffers</c> buffers of <c>bufferSize</c> bytes and
/// waits until the hasher is done with one. Bytes appended without a rented buffer (<see cref="Append"/>) must stay
/// unchanged until <see cref="FinishAsync"/> returns.
/// </para>
/// </summary>
public sealed class BlobHasher : IAsyncDisposable
{
    private readonly Channel<(ReadOnlyMemory<byte> Bytes, byte[]? Recycle)> _queue =
        Channel.CreateUnbounded<(ReadOnlyMemory<byte>, byte[]?)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Channel<byte[]> _free = Channel.CreateUnbounded<byte[]>();
    private readonly List<byte[]> _rented = [];
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Task<byte[]> _worker;
    private readonly int _bufferSize;
    private int _buffers;
    private volatile bool _abandoned;

    /// <param name="buffers">How many buffers <see cref="RentAsync"/> may have out at once (0 when the caller never rents).</param>
    public BlobHasher(int buffers = 0, int bufferSize = BlobLimits.ChunkSize)
    {
        _buffers = buffers;
        _bufferSize = bufferSize;
        _worker = Task.Run(HashAsync);
    }

    /// <summary>Total bytes appended so far.</summary>
    public long Length { get; private set; }

    /// <summary>A buffer of at least the buffer size: a fresh one while fewer than <c>buffers</c> are out, else the next one hashed.</summary>
    public async ValueTask<byte[]> RentAsync(CancellationToken ct)
    {
        if (_free.Reader.TryRead(out var free)) return free;
        if (_buffers > 0)
        {
            _buffers--;
            var buffer = ArrayPool<byte>.Shared.Rent(_bufferSize);
            lock (_rented) _rented.Add(buffer);
            return buffer;
        }
        return await _free.Reader.ReadAsync(ct);
    }

    /// <summary>Queues <paramref name="count"/> bytes of a buffer from <see cref="RentAsync"/>; it comes back once hashed.</summary>
    public void AppendRented(byte[] buffer, int count) => Enqueue(buffer.AsMemory(0, count), buffer);

    /// <summary>Queues bytes the caller keeps unchanged until <see cref="FinishAsync"/> returns.</summary>
    public void Append(ReadOnlyMemory<byte> bytes) => Enqueue(bytes, null);

    /// <summary>The lowercase hex SHA-256 of everything appended, once the hasher has caught up.</summary>
    public async Task<string> FinishAsync()
    {
        _queue.Writer.TryComplete();
        return Convert.ToHexStringLower(await _worker);
    }

    /// <summary>Stops hashing (also after an abandoned transfer) and returns the buffers.</summary>
    public async ValueTask DisposeAsync()
    {
        _abandoned = !_worker.IsCompleted; // what is still queued after an abandoned transfer is not worth hashing
        _queue.Writer.TryComplete();
        try { await _worker; } catch (Exception) { /* an abandoned hash has no result worth reporting */ }
        _sha.Dispose();
        lock (_rented)
        {
            foreach (var buffer in _rented) ArrayPool<byte>.Shared.Return(buffer);
            _rented.Clear();
        }
    }

    private void Enqueue(ReadOnlyMemory<byte> bytes, byte[]? recycle)
    {
        Length += bytes.Length;
        if (!_queue.Writer.TryWrite((bytes, recycle))) throw new InvalidOperationException("the hash is already finished");
    }

    private async Task<byte[]> HashAsync()
    {
        try
        {
            await foreach (var (bytes, recycle) in _queue.Reader.ReadAllAsync())
            {
                if (!_abandoned) _sha.AppendData(bytes.Span);
                if (recycle is not null) _free.Writer.TryWrite(recycle);
            }
            return _sha.GetHashAndReset();
        }
        catch (Exception e)
        {
            _free.Writer.TryComplete(e); // a caller waiting in RentAsync learns why
            throw;
        }
    }
}
