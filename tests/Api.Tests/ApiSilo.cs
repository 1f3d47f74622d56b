using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Regatta.Silo.Api;

namespace Regatta.Api.Tests;

/// <summary>
/// The real Silo (its Program: Orleans silo on SQLite in a temporary folder, the HTTP API) started in-process on free
/// silo and gateway ports, with short timings so runs move in seconds. Requests go through the in-memory test server.
/// (Any public type of the Silo assembly names its entry point; the agent's Program would make "Program" ambiguous.)
/// </summary>
public class ApiSilo : WebApplicationFactory<AdminApiKey>, IAsyncLifetime
{
    public const string AdminKey = "test-admin-key-0123456789";

    public string DataDir { get; } = Directory.CreateTempSubdirectory("regatta-api-").FullName;
    public int GatewayPort { get; } = FreePort();
    private readonly int _siloPort = FreePort();

    /// <summary>Settings on top of the defaults; null removes the admin key (local mode generates one).</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Regatta:AdminApiKey"] = AdminKey,
        ["Regatta:Api:RegisterPermitsPerMinute"] = "10000",
        ["Regatta:Api:HeartbeatPermitsPerMinute"] = "10000",
        ["Regatta:Api:GatewaysPermitsPerMinute"] = "10000",
    };

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Regatta:DataDir", DataDir);
        builder.UseSetting("Regatta:SiloPort", _siloPort.ToString());
        builder.UseSetting("Regatta:GatewayPort", GatewayPort.ToString());
        builder.UseSetting("Regatta:TickInterval", "00:00:00.200");
        builder.UseSetting("Regatta:ReminderPeriod", "00:00:05");
        builder.UseSetting("Regatta:HeartbeatInterval", "00:00:01");
        builder.UseSetting("Regatta:HeartbeatTimeout", "00:00:30");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("Logging:LogLevel:Regatta", "Warning");
        foreach (var (key, value) in Settings) builder.UseSetting(key, value);
    }

    public async ValueTask InitializeAsync()
    {
        using var client = CreateClient(); // starts the host: the silo is up when this returns
        using var health = await client.GetAsync("/healthz");
        health.EnsureSuccessStatusCode();
    }

    /// <summary>A client without credentials.</summary>
    public HttpClient Anonymous() => CreateClient();

    /// <summary>A client sending the admin API key.</summary>
    public HttpClient Admin() => WithBearer(AdminKey);

    public HttpClient WithBearer(string token)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One silo shared by the API tests; each test uses its own ids so tests do not see each other's state.</summary>
[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiSilo>
{
    public const string Name = "api";
}
