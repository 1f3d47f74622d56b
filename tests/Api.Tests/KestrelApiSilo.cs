using System.Net;
using System.Net.Sockets;

namespace Regatta.Api.Tests;

/// <summary>
/// <see cref="ApiSilo"/> on a real Kestrel port instead of the in-memory test server, for what must dial the silo by
/// URL: the operator commands (submit/watch) and an agent's <c>--gateways-url</c>.
/// </summary>
public sealed class KestrelApiSilo : ApiSilo
{
    public KestrelApiSilo()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        HttpPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        UseKestrel(HttpPort);
    }

    public int HttpPort { get; }
    public string BaseUrl => $"http://127.0.0.1:{HttpPort}";
    public Uri Api => new(BaseUrl + "/");
}

/// <summary>One Kestrel-served silo shared by the tests that dial it by URL.</summary>
[CollectionDefinition(Name)]
public sealed class KestrelCollection : ICollectionFixture<KestrelApiSilo>
{
    public const string Name = "api-kestrel";
}
