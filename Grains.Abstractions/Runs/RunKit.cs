using System.Text.Json;
using System.Text.Json.Serialization;

namespace Regatta.Runs;

/// <summary>
/// What an edge site needs to take part in a run, published as one content-addressed blob when the run starts:
/// the spec, the model architecture, the initial weights' hash, data instructions and the minimum agent version.
/// </summary>
public sealed record RunKit
{
    public required string RunId { get; init; }
    public required string SpecYaml { get; init; }
    public required ModelSpec Model { get; init; }
    public required string InitialModelHash { get; init; }
    public required DataSpec Data { get; init; }
    public required string MinAgentVersion { get; init; }
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The version of the agent protocol this coordinator speaks.</summary>
    public const string CurrentMinAgentVersion = "0.1.0";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static RunKit FromBytes(byte[] bytes) =>
        JsonSerializer.Deserialize<RunKit>(bytes, Json) ?? throw new InvalidDataException("empty run kit");
}
