using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Regatta.Silo.Blobs;

/// <summary>
/// Kestrel's socket transport reads into buffers from its memory pool, 4 KiB each by default: a 100 MB upload costs
/// 25,000 receive calls and runs at about a third of what the socket carries. Buffers of <see cref="BlockSize"/> let
/// one receive take what the socket has (measured: PUT bodies at raw loopback speed, downloads about twice as fast).
/// Blocks are taken only while a connection has bytes in flight (Kestrel waits for data before it takes one), so idle
/// connections hold none; at most <see cref="MaxIdleBlocks"/> returned blocks are kept for reuse, the rest go to the GC.
/// </summary>
public static class BlobTransport
{
    public const int BlockSize = 256 * 1024;
    public const int MaxIdleBlocks = 64;

    /// <summary>Large transport buffers for this host's Kestrel (all its endpoints: the pool belongs to the transport).</summary>
    public static WebApplicationBuilder AddRegattaBlobs(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockPoolFactory>();
        return builder;
    }

    private sealed class LargeBlockPoolFactory : IMemoryPoolFactory<byte>
    {
        public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBlockPool();
    }

    private sealed class LargeBlockPool : MemoryPool<byte>
    {
        private readonly ConcurrentQueue<byte[]> _idle = new();
        private int _idleCount;

        public override int MaxBufferSize => BlockSize;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
            if (_idle.TryDequeue(out var block))
            {
                Interlocked.Decrement(ref _idleCount);
                return new Block(this, block);
            }
            // Pinned (on the pinned object heap): sockets pin every buffer they read into; these never move anyway.
            return new Block(this, GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true));
        }

        private void Return(byte[] block)
        {
            if (Interlocked.Increment(ref _idleCount) <= MaxIdleBlocks) _idle.Enqueue(block);
            else Interlocked.Decrement(ref _idleCount);
        }

        protected override void Dispose(bool disposing) => _idle.Clear();

        private sealed class Block(LargeBlockPool pool, byte[] array) : IMemoryOwner<byte>
        {
            private byte[]? _array = array;

            public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Block));

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _array, null) is { } array) pool.Return(array);
            }
        }
    }
}
