using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;

namespace Regatta.Storage.Tests;

[GenerateSerializer, Alias("regatta.tests.StoredSample")]
public sealed class StoredSample
{
    [Id(0)] public long Seed { get; set; } = 42;
    [Id(1)] public Dictionary<string, int> Counts { get; set; } = new();
    [Id(2)] public string? Name { get; set; }
}

public sealed class StoredStateSerializerTests
{
    private static readonly IGrainStorageSerializer Json =
        new JsonGrainStorageSerializer(new OrleansJsonSerializer(Options.Create(new OrleansJsonSerializerOptions())));

    private static StoredStateSerializer Create() =>
        new(new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>(), Json);

    [Fact]
    public void A_value_equal_to_its_type_default_reads_back_as_written_not_as_the_initializer()
    {
        var serializer = Create();
        var read = serializer.Deserialize<StoredSample>(serializer.Serialize(new StoredSample { Seed = 0, Counts = { ["a"] = 1 } }))!;
        Assert.Equal(0, read.Seed);
        Assert.Equal(1, read.Counts["a"]);
        // What the old JSON format did with the same value: left it out, so the initializer's 42 came back.
        Assert.Equal(42, Json.Deserialize<StoredSample>(Json.Serialize(new StoredSample { Seed = 0 }))!.Seed);
    }

    [Fact]
    public void State_stored_as_json_before_is_still_read()
    {
        var old = Json.Serialize(new StoredSample { Seed = 7, Name = "kept", Counts = { ["b"] = 2 } });
        var read = Create().Deserialize<StoredSample>(old)!;
        Assert.Equal(7, read.Seed);
        Assert.Equal("kept", read.Name);
        Assert.Equal(2, read.Counts["b"]);
    }

    [Fact]
    public void New_writes_are_binary_behind_a_mark_that_json_never_starts_with()
    {
        var bytes = Create().Serialize(new StoredSample { Name = "x" }).ToArray();
        Assert.Equal(0xFF, bytes[0]);
        Assert.Equal((byte)'{', Json.Serialize(new StoredSample()).ToArray()[0]);
    }
}
