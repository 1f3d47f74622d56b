using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace Regatta.Storage;

/// <summary>
/// How grain state is spelled in the store: Orleans' binary format (the <c>[GenerateSerializer]</c>/<c>[Id]</c>
/// contract every state type already has, version tolerant by field id) behind a 4-byte mark. Rows written before
/// (Orleans' default JSON, which begins with a brace) are still read.
/// Why not the default JSON: it leaves out every value equal to its type's default while reading back fills a missing
/// value from the property's initializer, so a run's seed of 0 came back as the spec's 42 and an Online worker (the
/// enum's 0) as WorkerData's Offline; and writing it was most of the CPU of a round's or a registration storm's writes
/// (type names, a 10k-member run state of 2.5 MB).
/// </summary>
public sealed class StoredStateSerializer(Serializer binary, IGrainStorageSerializer legacy) : IGrainStorageSerializer
{
    // 0xFF never begins JSON text (UTF-8 or otherwise), so the mark alone tells the formats apart.
    private static ReadOnlySpan<byte> Mark => [0xFF, (byte)'R', (byte)'G', 1];

    public BinaryData Serialize<T>(T? input)
    {
        var stream = new MemoryStream();
        stream.Write(Mark);
        binary.Serialize(input, stream);
        return new BinaryData(stream.GetBuffer().AsMemory(0, (int)stream.Length));
    }

    public T? Deserialize<T>(BinaryData input)
    {
        var bytes = input.ToMemory();
        return bytes.Span.StartsWith(Mark) ? binary.Deserialize<T>(bytes[Mark.Length..]) : legacy.Deserialize<T>(input);
    }

    /// <summary>Makes the ADO.NET grain storage <paramref name="storageName"/> store state with this serializer.</summary>
    internal static void Use(IServiceCollection services, string storageName) =>
        services.AddOptions<AdoNetGrainStorageOptions>(storageName).Configure<IServiceProvider>((o, provider) =>
            o.GrainStorageSerializer = new StoredStateSerializer(
                provider.GetRequiredService<Serializer>(), provider.GetRequiredService<IGrainStorageSerializer>()));
}
