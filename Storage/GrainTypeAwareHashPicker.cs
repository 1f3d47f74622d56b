using System.Text;
using Orleans.Runtime;
using Orleans.Storage;

namespace Regatta.Storage;

/// <summary>
/// Orleans' ADO.NET grain storage identifies a state by (service id, state name, grain key): the grain
/// <em>type</em> is not part of it, so two grain types with the same key and the same state name would
/// share one row (dotnet/orleans#8746). This picker salts both stored hashes (GrainIdHash and GrainTypeHash)
/// with the grain type, so such states land in different rows; a clash would need both 32-bit hashes to
/// collide at once. Set it on <c>AdoNetGrainStorageOptions.HashPicker</c> of every provider that shares a
/// database (SQLite here; the PostgreSQL wiring may use it too, consistently for the life of the database).
/// </summary>
public sealed class GrainTypeAwareHashPicker : IStorageHasherPicker
{
    private static readonly OrleansDefaultHasher Inner = new();

    public ICollection<IHasher> HashProviders { get; } = new List<IHasher> { Inner };

    public IHasher? PickHasher<T>(string serviceId, string storageProviderInstanceName, string grainType, GrainId grainId, IGrainState<T> grainState, string? tag = null)
        => new SaltedHasher(grainId.Type.ToString() ?? string.Empty);

    private sealed class SaltedHasher(string grainType) : IHasher
    {
        public string Description => $"{Inner.Description} salted with the grain type '{grainType}'.";

        public int Hash(byte[] data)
        {
            var salt = Encoding.UTF8.GetBytes(grainType);
            var buffer = new byte[data.Length + 1 + salt.Length];
            data.CopyTo(buffer, 0);
            buffer[data.Length] = 0; // separator: (key, type) pairs cannot run into each other
            salt.CopyTo(buffer, data.Length + 1);
            return Inner.Hash(buffer);
        }
    }
}
