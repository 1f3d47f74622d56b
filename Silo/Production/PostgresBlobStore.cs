using System.Data;
using System.Security.Cryptography;
using Npgsql;
using NpgsqlTypes;
using Regatta.Grains.Models;
using Regatta.Models;
using Regatta.Storage;

namespace Regatta.Silo.Production;

/// <summary>
/// Content-addressed blobs in PostgreSQL (tables regatta_blob_info and regatta_blobs of deploy/postgres/schema.sql), so
/// that every silo of a cluster reads what any silo wrote. Chunks are <see cref="BlobLimits.ChunkSize"/> rows; an upload
/// is readable only once sealed, after its SHA-256 matched its key. Concurrent writers of the same blob serialise on
/// its info row (SELECT ... FOR UPDATE), so a BlobGrain that briefly exists twice during a silo failure is harmless.
/// </summary>
public sealed class PostgresBlobStore(RegattaPostgresDatabase database) : IBlobStore
{
    private readonly NpgsqlDataSource _db = database.DataSource;

    public async Task<BlobInfo?> InfoAsync(string hash)
    {
        BlobRules.RequireHash(hash);
        await using var command = _db.CreateCommand("SELECT length FROM regatta_blob_info WHERE hash = $1 AND sealed");
        command.Parameters.Add(Text(hash));
        return await command.ExecuteScalarAsync() is long length
            ? new BlobInfo(hash, length, BlobLimits.ChunkSize, BlobLimits.ChunkCount(length))
            : null;
    }

    public async Task<string> PutAsync(byte[] bytes)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        BlobRules.RequireLength(bytes.Length);
        if (await InfoAsync(hash) is not null) return hash;
        await using var connection = await _db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var row = await LockInfo(connection, hash, bytes.Length);
        if (row.Sealed) return hash;
        await Execute(connection, "DELETE FROM regatta_blobs WHERE hash = $1", Text(hash));
        for (var i = 0; i < BlobLimits.ChunkCount(bytes.Length); i++)
        {
            var offset = i * BlobLimits.ChunkSize;
            await InsertChunk(connection, hash, i, bytes.AsMemory(offset, Math.Min(BlobLimits.ChunkSize, bytes.Length - offset)));
        }
        await Execute(connection, "UPDATE regatta_blob_info SET length = $2, sealed = true WHERE hash = $1", Text(hash), Long(bytes.Length));
        await transaction.CommitAsync();
        return hash;
    }

    public async Task<byte[]> ReadAllAsync(string hash)
    {
        var info = await InfoAsync(hash) ?? throw Unknown(hash);
        var bytes = new byte[info.Length];
        await using var command = _db.CreateCommand("SELECT chunk_index, data FROM regatta_blobs WHERE hash = $1 ORDER BY chunk_index");
        command.Parameters.Add(Text(hash));
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess);
        var expected = 0;
        while (await reader.ReadAsync())
        {
            var index = reader.GetInt32(0);
            var chunk = await reader.GetFieldValueAsync<byte[]>(1);
            if (index != expected || (long)index * BlobLimits.ChunkSize + chunk.Length > bytes.Length)
                throw new InvalidDataException($"blob {hash}: stored chunk {index} does not fit (expected chunk {expected})");
            chunk.CopyTo(bytes, (long)index * BlobLimits.ChunkSize);
            expected++;
        }
        if (expected != info.ChunkCount) throw new InvalidDataException($"blob {hash}: {expected} of {info.ChunkCount} chunks stored");
        return bytes;
    }

    public async Task<byte[]> ReadChunkAsync(string hash, int index)
    {
        var info = await InfoAsync(hash) ?? throw Unknown(hash);
        if (index < 0 || index >= info.ChunkCount)
            throw new RegattaException("bad_chunk", $"chunk {index} out of range [0, {info.ChunkCount})");
        await using var command = _db.CreateCommand("SELECT data FROM regatta_blobs WHERE hash = $1 AND chunk_index = $2");
        command.Parameters.Add(Text(hash));
        command.Parameters.Add(Int(index));
        return await command.ExecuteScalarAsync() as byte[] ?? throw new InvalidDataException($"blob {hash}: chunk {index} is not stored");
    }

    public async Task WriteChunkAsync(string hash, long totalLength, int index, byte[] data)
    {
        BlobRules.CheckChunk(hash, totalLength, index, data);
        await using var connection = await _db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var row = await LockInfo(connection, hash, totalLength);
        if (row.Sealed) return;
        if (row.Length != totalLength)
        {
            // Another length for the same key: an earlier upload was of other bytes (it would fail its seal); start over.
            await Execute(connection, "DELETE FROM regatta_blobs WHERE hash = $1", Text(hash));
            await Execute(connection, "UPDATE regatta_blob_info SET length = $2 WHERE hash = $1", Text(hash), Long(totalLength));
        }
        await InsertChunk(connection, hash, index, data);
        await transaction.CommitAsync();
    }

    public async Task<List<int>> MissingChunksAsync(string hash, long totalLength)
    {
        BlobRules.RequireHash(hash);
        var count = BlobRules.RequireLength(totalLength);
        await using var connection = await _db.OpenConnectionAsync();
        var received = new HashSet<int>();
        await using (var command = new NpgsqlCommand("SELECT length, sealed FROM regatta_blob_info WHERE hash = $1", connection))
        {
            command.Parameters.Add(Text(hash));
            await using var reader = await command.ExecuteReaderAsync();
            if (await reader.ReadAsync())
            {
                if (reader.GetBoolean(1)) return [];
                if (reader.GetInt64(0) != totalLength) return Enumerable.Range(0, count).ToList();
            }
        }
        await using (var command = new NpgsqlCommand("SELECT chunk_index FROM regatta_blobs WHERE hash = $1", connection))
        {
            command.Parameters.Add(Text(hash));
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) received.Add(reader.GetInt32(0));
        }
        return Enumerable.Range(0, count).Where(i => !received.Contains(i)).ToList();
    }

    public async Task<BlobInfo> SealAsync(string hash, long totalLength)
    {
        if (await InfoAsync(hash) is { } existing) return existing;
        var missing = await MissingChunksAsync(hash, totalLength);
        if (missing.Count > 0)
            throw new RegattaException("incomplete_blob", $"blob {hash} is missing {missing.Count} chunks (first {missing[0]})");
        await using var connection = await _db.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var row = await LockInfo(connection, hash, totalLength);
        if (!row.Sealed)
        {
            var actual = await HashChunks(connection, hash);
            if (actual != hash)
            {
                await Execute(connection, "DELETE FROM regatta_blob_info WHERE hash = $1", Text(hash)); // chunks cascade
                await transaction.CommitAsync();
                throw new RegattaException("hash_mismatch", $"uploaded bytes hash to {actual}, not {hash}; upload discarded");
            }
            await Execute(connection, "UPDATE regatta_blob_info SET sealed = true WHERE hash = $1", Text(hash));
            await transaction.CommitAsync();
        }
        return await InfoAsync(hash) ?? throw Unknown(hash);
    }

    /// <summary>
    /// Drops unsealed uploads started before <paramref name="writtenBefore"/> (their chunks cascade). The schema keeps
    /// when an upload started (created_at), not when it was last written, so an upload still going after the sweep age
    /// is dropped too; its sender starts it over.
    /// </summary>
    public async Task<int> SweepAbandonedAsync(DateTimeOffset writtenBefore)
    {
        await using var command = _db.CreateCommand("DELETE FROM regatta_blob_info WHERE NOT sealed AND created_at < $1");
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = writtenBefore.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>Creates the info row if needed and locks it for this transaction.</summary>
    private static async Task<(long Length, bool Sealed)> LockInfo(NpgsqlConnection connection, string hash, long length)
    {
        await Execute(connection, "INSERT INTO regatta_blob_info (hash, length) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING", Text(hash), Long(length));
        await using var command = new NpgsqlCommand("SELECT length, sealed FROM regatta_blob_info WHERE hash = $1 FOR UPDATE", connection);
        command.Parameters.Add(Text(hash));
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetBoolean(1));
    }

    private static async Task<string> HashChunks(NpgsqlConnection connection, string hash)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var command = new NpgsqlCommand("SELECT data FROM regatta_blobs WHERE hash = $1 ORDER BY chunk_index", connection);
        command.Parameters.Add(Text(hash));
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess);
        while (await reader.ReadAsync()) sha.AppendData(await reader.GetFieldValueAsync<byte[]>(0));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static Task InsertChunk(NpgsqlConnection connection, string hash, int index, ReadOnlyMemory<byte> data) =>
        Execute(connection,
            "INSERT INTO regatta_blobs (hash, chunk_index, data) VALUES ($1, $2, $3) ON CONFLICT (hash, chunk_index) DO UPDATE SET data = EXCLUDED.data",
            Text(hash), Int(index), new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = data, NpgsqlDbType = NpgsqlDbType.Bytea });

    private static async Task Execute(NpgsqlConnection connection, string sql, params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        await command.ExecuteNonQueryAsync();
    }

    private static NpgsqlParameter<string> Text(string value) => new() { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Varchar };
    private static NpgsqlParameter<long> Long(long value) => new() { TypedValue = value };
    private static NpgsqlParameter<int> Int(int value) => new() { TypedValue = value };

    private static RegattaException Unknown(string hash) => new("unknown_blob", $"blob {hash} is not stored");
}
