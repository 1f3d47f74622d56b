using System.Net;
using Regatta.WorkerAgent;

namespace Regatta.Api.Tests;

/// <summary>--coordinator gateways as an operator writes them, and the TLS name checked for them.</summary>
public sealed class GatewayAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:30001", "127.0.0.1", 30001)]
    [InlineData("127.0.0.1", "127.0.0.1", 30000)]
    [InlineData("[::1]:30002", "::1", 30002)]
    [InlineData("[::1]", "::1", 30000)]
    public void A_gateway_is_host_and_port_with_30000_by_default(string coordinator, string address, int port) =>
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), AgentHost.ParseGateway(coordinator));

    [Theory]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("127.0.0.1:http")]
    public void A_bad_port_is_refused_naming_the_flag(string coordinator) =>
        Assert.Contains("--coordinator", Assert.Throws<ArgumentException>(() => AgentHost.ParseGateway(coordinator)).Message);
}
