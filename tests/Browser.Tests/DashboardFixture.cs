using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Orleans.Configuration;

[assembly: AssemblyFixture(typeof(Regatta.Tests.DashboardFixture))]

namespace Regatta.Tests;

/// <summary>
/// One silo, one Orleans client (for the scripted workers) and one Chromium for the whole assembly: starting them
/// is most of the cost, and the tests use distinct worker and run ids so they do not see each other's changes.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string AdminPassword = "admin-secret-1";
    public const string ViewerPassword = "viewer-secret-1";

    private IHost? _client;
    private IPlaywright? _playwright;
    private string? _dataDir;

    private const string ClusterKey = "browser-tests-cluster-key-0123456789abcdef";

    public SiloProcess Silo { get; private set; } = null!;
    public IGrainFactory Grains => _client!.Services.GetRequiredService<IClusterClient>();
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where screenshots and the silo's log go; CI keeps this folder as the tests' artifacts.</summary>
    public static string ArtifactsDir { get; } = Environment.GetEnvironmentVariable("REGATTA_TEST_ARTIFACTS")
        ?? Path.Combine(AppContext.BaseDirectory, "TestResults");
    public static string ScreenshotsDir => Path.Combine(ArtifactsDir, "screenshots");

    public async ValueTask InitializeAsync()
    {
        _dataDir = Directory.CreateTempSubdirectory("regatta-browser-").FullName;
        var ports = SiloPorts.Free();
        Silo = await SiloProcess.StartAsync($"silo-{ports.Http}", ports, SiloEnvironment(ports, _dataDir), _dataDir, logDir: ArtifactsDir);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // The gateway is TLS only: the silo wrote its self-signed certificate's SHA-256 at start.
        var pin = File.ReadAllText(Path.Combine(_dataDir, "silo-cert.sha256"));
        builder.UseOrleansClient(client => Regatta.WorkerAgent.SiloTrust.From(pin, caPath: null, targetHost: "localhost").Apply(client
            .UseStaticClustering(new IPEndPoint(IPAddress.Loopback, Silo.Ports.Gateway))
            .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = ("regatta", "regatta"))
            // The fixture seeds workers and runs as the cluster would: it shares the silo's cluster key.
            .AddOutgoingGrainCallFilter(call =>
            {
                RequestContext.Set(Regatta.Security.CallIdentity.ClusterKey, ClusterKey);
                return call.Invoke();
            })));
        _client = builder.Build();
        await _client.StartAsync();

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("REGATTA_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
    }

    /// <summary>The real Silo app on free loopback ports and a temporary data folder, with short timings so runs move in seconds.</summary>
    private static Dictionary<string, string> SiloEnvironment(SiloPorts ports, string dataDir) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ports.Http}",
        ["Regatta__DataDir"] = dataDir,
        ["Regatta__SiloPort"] = ports.Silo.ToString(),
        ["Regatta__GatewayPort"] = ports.Gateway.ToString(),
        ["Regatta__TickInterval"] = "00:00:00.200",
        ["Regatta__HeartbeatInterval"] = "00:00:01",
        ["Regatta__ReminderPeriod"] = "00:00:05",
        ["Regatta__Dashboard__AdminPassword"] = AdminPassword,
        ["Regatta__ClusterKey"] = ClusterKey,
        ["Regatta__Dashboard__ViewerUser"] = "viewer",
        ["Regatta__Dashboard__ViewerPassword"] = ViewerPassword,
    };

    /// <summary>A fresh browser context (own cookies) signed in as <paramref name="user"/>.</summary>
    public async Task<IPage> SignedInPageAsync(string user = "admin", string? password = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Silo.BaseUrl,
            ViewportSize = new ViewportSize { Width = 1440, Height = 960 },
        });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await page.WaitForURLAsync("**/signin**");
        await page.FillAsync("#username", user);
        await page.FillAsync("#password", password ?? (user == "admin" ? AdminPassword : ViewerPassword));
        await page.ClickAsync("[data-testid=signin-submit]");
        await page.WaitForURLAsync(url => !url.Contains("/signin"));
        await WaitInteractiveAsync(page);
        return page;
    }

    /// <summary>Waits until Blazor's circuit is up (the prerendered copy does not react to clicks) and the feed has data.</summary>
    public static async Task WaitInteractiveAsync(IPage page)
    {
        await Assertions.Expect(page.Locator("[data-testid=interactive]")).ToHaveAttributeAsync("data-interactive", "true");
        await Assertions.Expect(page.Locator("[data-testid=live]")).ToContainTextAsync("live");
    }

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotsDir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotsDir, name + ".png"), FullPage = true });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        if (_client is not null)
        {
            await _client.StopAsync();
            _client.Dispose();
        }
        if (Silo is not null) await Silo.DisposeAsync();
        if (_dataDir is not null)
        {
            try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
