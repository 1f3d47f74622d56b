using Microsoft.Extensions.Options;
using Regatta.Grains.Models;

namespace Regatta.Grains.Tests.Runs;

/// <summary>The coordinator's real blob store in a temporary directory, and its real model runtime.</summary>
public sealed class CoordinatorDisk : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("regatta-coordinator-");

    public CoordinatorDisk() => Blobs = new BlobStore(_dir.FullName);

    public BlobStore Blobs { get; }
    public TorchModelRuntime Models { get; } = new(Options.Create(new CoordinatorOptions()));

    public void Dispose() => _dir.Delete(recursive: true);
}
