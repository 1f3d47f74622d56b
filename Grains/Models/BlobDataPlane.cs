namespace Regatta.Grains.Models;

/// <summary>
/// The HTTP base URL this silo advertises for blobs (its Kestrel serving /blobs/{hash}), handed out with every
/// <see cref="Regatta.Models.BlobTicket"/>. Registered by the silo host when it maps the endpoint; absent in hosts
/// without HTTP (test clusters), where tickets carry no URL and agents move blobs through grain calls.
/// </summary>
public sealed class BlobDataPlane
{
    /// <summary>e.g. http://10.0.0.5:5080, no trailing slash; null until known.</summary>
    public string? BaseUrl { get; set; }
}
