using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Regatta.Tests;
using Regatta.WorkerAgent;

namespace Regatta.Api.Tests;

/// <summary>GET /api/cluster/gateways, and agents that find the cluster through it (--gateways-url) instead of the cluster database.</summary>
[Collection(KestrelCollection.Name)]
public sealed class GatewayListTests(KestrelApiSilo silo)
{
    private static readonly Uri Unreachable = new("http://127.0.0.1:1/api/cluster/gateways");

    [Fact]
    public async Task The_gateways_endpoint_lists_the_silos_gateway_to_anyone_and_nothing_else()
    {
        using var anonymous = new HttpClient();
        using var response = await anonymous.GetAsync($"{silo.BaseUrl}/api/cluster/gateways");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("no-store", response.Headers.CacheControl?.ToString());
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal(["gateways"], body.EnumerateObject().Select(p => p.Name)); // no silo names, status or other internals
        Assert.Equal([$"127.0.0.1:{silo.GatewayPort}"], body.GetProperty("gateways").EnumerateArray().Select(g => g.GetString()));
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, silo.GatewayPort)], GatewayList.ParseResponse(Encoding.UTF8.GetBytes(text)));
    }

    [Fact]
    public async Task An_agent_with_gateways_url_connects_through_the_listed_gateway_and_registers()
    {
        var id = Http.NewId("gw-agent");
        var options = new AgentOptions
        {
            Coordinator = "127.0.0.1:1", // nothing listens there: only the gateway list can bring this agent in
            GatewaysUrl = silo.BaseUrl,
            GatewaysRefresh = TimeSpan.FromSeconds(1),
            // The gateway is TLS only: pin the local silo's certificate, as an agent does.
            SiloCertSha256 = File.ReadAllText(Path.Combine(silo.DataDir, Regatta.Silo.Security.SiloTls.LocalFingerprintFile)),
            Name = id,
            WorkerId = id,
            Device = "cpu",
            Heartbeat = TimeSpan.FromMilliseconds(500),
            CacheDir = Path.Combine(silo.DataDir, "agents", id),
            ServeMemoryBytes = 0,
        };
        using var host = AgentHost.Build(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var session = new WorkerSession(options, host.Services.GetRequiredService<IClusterClient>(), host.Services.GetRequiredService<ILoggerFactory>(),
            host.Services.GetRequiredService<WorkerCredential>());
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => session.RunAsync(stop.Token));
        try
        {
            using var anonymous = silo.Anonymous();
            var worker = await Eventually.Until(() => anonymous.GetAsync("/api/workers?take=500").Expect(),
                page => page.GetProperty("items").EnumerateArray().Any(w => w.Str("worker_id") == id), TimeSpan.FromSeconds(60),
                "the agent registers");
            Assert.Equal("pending", worker.GetProperty("items").EnumerateArray().Single(w => w.Str("worker_id") == id).Str("status"));
        }
        finally
        {
            await stop.CancelAsync();
            try { await loop; } catch (OperationCanceledException) { }
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task The_provider_takes_the_first_url_that_answers_and_keeps_its_last_list_when_none_does()
    {
        var urls = GatewayList.ParseUrls($"http://127.0.0.1:1,{silo.BaseUrl}");
        Assert.Equal([Unreachable, new Uri($"{silo.BaseUrl}/api/cluster/gateways")], urls);
        var expected = new Uri($"gwy.tcp://127.0.0.1:{silo.GatewayPort}/0");
        using (var provider = new HttpGatewayListProvider(urls, TimeSpan.FromSeconds(5), NullLogger<HttpGatewayListProvider>.Instance))
        {
            Assert.Equal([expected], await provider.GetGateways());
            Assert.Equal(TimeSpan.FromSeconds(5), provider.MaxStaleness);
        }
        using var unreachable = new HttpGatewayListProvider([Unreachable], TimeSpan.FromSeconds(5), NullLogger<HttpGatewayListProvider>.Instance);
        Assert.Empty(await unreachable.GetGateways()); // nothing known yet: Orleans' connection retry asks again
        // A silo page that is not the gateway list (here a run listing) is refused, not taken for gateways.
        using var wrong = new HttpGatewayListProvider([new Uri($"{silo.BaseUrl}/api/runs")], TimeSpan.FromSeconds(5), NullLogger<HttpGatewayListProvider>.Instance);
        Assert.Empty(await wrong.GetGateways());
    }

    [Theory]
    [InlineData("""{"gateways": ["10.0.0.5:30000", "[::1]:30001", "10.0.0.5:30000"]}""", "10.0.0.5:30000,[::1]:30001")]
    [InlineData("""{"gateways": ["127.0.0.1:30000"], "later": "fields are ignored"}""", "127.0.0.1:30000")]
    public void A_valid_answer_gives_its_endpoints_in_order_without_duplicates(string body, string expected) =>
        Assert.Equal(expected.Split(',').Select(IPEndPoint.Parse), GatewayList.ParseResponse(Encoding.UTF8.GetBytes(body)));

    [Theory]
    [InlineData("not json")]
    [InlineData("""["10.0.0.5:30000"]""")]
    [InlineData("""{"gateways": []}""")]
    [InlineData("""{"gateways": "10.0.0.5:30000"}""")]
    [InlineData("""{"gateways": [30000]}""")]
    [InlineData("""{"gateways": ["silo.example.com:30000"]}""")] // host names are not resolved from an unauthenticated answer
    [InlineData("""{"gateways": ["10.0.0.5"]}""")]
    [InlineData("""{"gateways": ["10.0.0.5:0"]}""")]
    [InlineData("""{"gateways": ["10.0.0.5:70000"]}""")]
    [InlineData("""{"gateways": ["0.0.0.0:30000"]}""")]
    [InlineData("""{"gateways": ["255.255.255.255:30000"]}""")]
    [InlineData("""{"gateways": ["239.1.2.3:30000"]}""")]
    public void An_invalid_answer_is_refused(string body) =>
        Assert.Throws<FormatException>(() => GatewayList.ParseResponse(Encoding.UTF8.GetBytes(body)));

    [Fact]
    public void An_answer_over_the_size_bound_or_with_too_many_gateways_is_refused()
    {
        var many = JsonSerializer.Serialize(new { gateways = Enumerable.Range(1, GatewayList.MaxGateways + 1).Select(i => $"10.0.{i / 250}.{i % 250 + 1}:30000") });
        Assert.Contains("gateways", Assert.Throws<FormatException>(() => GatewayList.ParseResponse(Encoding.UTF8.GetBytes(many))).Message);
        var huge = $$"""{"gateways": ["10.0.0.5:30000"], "padding": "{{new string('x', HttpGatewayListProvider.MaxResponseBytes)}}"}""";
        Assert.Contains("bytes", Assert.Throws<FormatException>(() => GatewayList.ParseResponse(Encoding.UTF8.GetBytes(huge))).Message);
    }

    [Theory]
    [InlineData("ftp://silo:5080")]
    [InlineData("silo:5080")]
    [InlineData("http://user:pw@silo:5080")]
    [InlineData("http://silo:5080/?x=1")]
    [InlineData("http://silo:5080,")]
    public void The_agent_refuses_a_gateways_url_that_is_not_an_http_url(string url)
    {
        var options = new AgentOptions { Coordinator = "127.0.0.1:1", GatewaysUrl = url, Name = "a", WorkerId = "a", CacheDir = Path.GetTempPath() };
        Assert.Contains("--gateways-url", Assert.Throws<ArgumentException>(() => AgentHost.Build(options, _ => { })).Message);
    }

    [Fact]
    public void A_static_coordinator_list_names_several_gateways()
    {
        Assert.Equal([IPEndPoint.Parse("10.0.0.5:30000"), IPEndPoint.Parse("10.0.0.6:30001"), IPEndPoint.Parse("10.0.0.7:30000")],
            GatewayList.ParseStatic("10.0.0.5:30000, 10.0.0.6:30001,10.0.0.7"));
        Assert.Contains("--coordinator", Assert.Throws<ArgumentException>(() => GatewayList.ParseStatic("10.0.0.5:30000,,10.0.0.6:1")).Message);
        Assert.Contains("--coordinator", Assert.Throws<ArgumentException>(() => GatewayList.ParseStatic("10.0.0.5:99999")).Message);
    }
}
