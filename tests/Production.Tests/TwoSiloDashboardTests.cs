using System.Net;
using Microsoft.Playwright;
using Regatta.Dashboard.Access;
using Regatta.Runs;
using static Microsoft.Playwright.Assertions;

namespace Regatta.Tests;

/// <summary>
/// Two silo processes on one PostgreSQL database behind a balancer that is not sticky (<see cref="RoundRobinProxy"/>),
/// driven by a real Chromium: a sign-in made on one silo holds on the other, and the dashboard survives losing the silo
/// its circuit was on. Then readiness: a silo shutting down says so while the other stays ready.
/// </summary>
[Collection(Production.Name)]
public sealed class TwoSiloDashboardTests(PostgresServer postgres)
{
    private static readonly string Spec = RunSpecYaml.Write(Specs.Quick());
    // Two silos, PostgreSQL and Chromium on 2 cores: a circuit may take longer than Playwright's 5 s default to start.
    private static readonly LocatorAssertionsToHaveAttributeOptions Slow = new() { Timeout = 30_000 };

    [Fact]
    public async Task A_sign_in_on_one_silo_holds_on_the_other_and_the_page_moves_to_the_survivor_when_its_silo_stops()
    {
        await using var cluster = await ProductionCluster.CreateAsync(postgres);
        SiloProcess[] silos = [await cluster.StartSiloAsync(), await cluster.StartSiloAsync()];
        await using var proxy = RoundRobinProxy.Start(silos.Select(s => s.Ports.Http).ToList());
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("REGATTA_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = proxy.BaseUrl });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        try
        {
            // The form (and its anti-forgery token) comes from one silo, the sign-in may be posted to either.
            await page.GotoAsync("/");
            await page.WaitForURLAsync("**/signin**");
            await page.FillAsync("#username", "admin");
            await page.FillAsync("#password", cluster.Settings["Regatta__Dashboard__AdminPassword"]);
            await page.ClickAsync("[data-testid=signin-submit]");
            await page.WaitForURLAsync(url => !url.Contains("/signin"));
            var signedInOn = Reached(proxy, $"POST {SignInEndpoints.SignInPost}");
            var other = 1 - signedInOn;
            await Expect(page.Locator("[data-testid=interactive]")).ToHaveAttributeAsync("data-interactive", "true", Slow);

            // Loaded and used through the other silo with the first one's cookie. A stray request of the page left behind
            // (Blazor's disconnect beacon) may take a turn of the round robin first: navigate again until it did.
            for (var attempt = 1; ; attempt++)
            {
                await page.GotoAsync("about:blank");
                proxy.Restart(next: other);
                await page.GotoAsync("/runs/new");
                if (Reached(proxy, "GET /runs/new") == other) break;
                Assert.True(attempt < 5, "the page never loaded through the other silo");
            }
            Assert.DoesNotContain("/signin", page.Url);
            await CreateRunAsync(page, "two-silos-a");

            // Stop the silo that holds the circuit (its one WebSocket): the page finds the other on its own, signed in.
            var circuit = Circuit(proxy) ?? throw new InvalidOperationException("no circuit connection went through the proxy");
            var (stopped, survivor) = (silos[circuit.Backend], 1 - circuit.Backend);
            await stopped.StopAsync();
            await Eventually.Until(() => Task.FromResult(Circuit(proxy)), c => c is not null && c.Id > circuit!.Id && c.Backend == survivor, TimeSpan.FromSeconds(60),
                "the page opened a new circuit on the surviving silo");
            Assert.DoesNotContain("/signin", page.Url);
            await CreateRunAsync(page, "two-silos-b");
            Assert.DoesNotContain(proxy.Connections, c => c.Id > circuit.Id && c.Requests.Any(r => r.StartsWith($"POST {SignInEndpoints.SignInPost}", StringComparison.Ordinal)));

            var grains = await cluster.ConnectClientAsync();
            foreach (var run in new[] { "two-silos-a", "two-silos-b" })
                Assert.Equal(run, (await grains.GetGrain<IRunGrain>(run).GetView()).RunId);
        }
        catch
        {
            Directory.CreateDirectory(ArtifactsDir);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsDir, "two-silo-dashboard.png"), FullPage = true });
            Console.WriteLine(string.Join("\n", proxy.Connections.Select(c => $"#{c.Id} -> silo {c.Backend}: {string.Join(", ", c.Requests)} {(c.Closed ? "(closed)" : "")}")));
            Console.WriteLine(cluster.Logs());
            throw;
        }
    }

    [Fact]
    public async Task A_silo_shutting_down_is_not_ready_while_it_drains_and_the_other_stays_ready()
    {
        await using var cluster = await ProductionCluster.CreateAsync(postgres);
        // Long enough to observe the drain, shorter than the shutdown timeout.
        cluster.Settings["Regatta__DrainDelay"] = "00:00:04";
        var leaving = await cluster.StartSiloAsync();
        var staying = await cluster.StartSiloAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var silo in new[] { leaving, staying })
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, silo, Silo.SiloHealth.ReadyPath));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, silo, Silo.SiloHealth.LivePath));
        }

        var stopping = leaving.StopAsync();
        await Eventually.Until(() => StatusAsync(http, leaving, Silo.SiloHealth.ReadyPath), s => s == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(10),
            "the stopping silo reports not ready");
        // Still serving while it drains (alive), and the other silo is unaffected.
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, leaving, Silo.SiloHealth.LivePath));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, staying, Silo.SiloHealth.ReadyPath));
        await stopping;
        Assert.Equal(0, leaving.ExitCode);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, staying, Silo.SiloHealth.ReadyPath));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, staying, Silo.SiloHealth.ClusterPath));
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http, SiloProcess silo, string path)
    {
        using var response = await http.GetAsync(new Uri(silo.Http, path));
        return response.StatusCode;
    }

    private static async Task CreateRunAsync(IPage page, string runId)
    {
        await page.GotoAsync("/runs/new");
        await Expect(page.Locator("[data-testid=interactive]")).ToHaveAttributeAsync("data-interactive", "true", Slow);
        await page.Locator("[data-testid=run-id]").FillAsync(runId);
        await page.Locator("[data-testid=yaml]").FillAsync(Spec);
        await page.ClickAsync("[data-testid=create]");
        await page.WaitForURLAsync($"**/runs/{runId}");
    }

    /// <summary>The backend of the newest connection that carried a request starting with <paramref name="request"/>.</summary>
    private static int Reached(RoundRobinProxy proxy, string request) =>
        proxy.Connections.Last(c => c.Requests.Any(r => r.StartsWith(request, StringComparison.Ordinal))).Backend;

    /// <summary>The newest open Blazor circuit connection (its WebSocket).</summary>
    private static ProxiedConnection? Circuit(RoundRobinProxy proxy) =>
        proxy.Connections.LastOrDefault(c => c.FirstLine?.StartsWith("GET /_blazor", StringComparison.Ordinal) == true && !c.Closed);

    private static string ArtifactsDir => Environment.GetEnvironmentVariable("REGATTA_TEST_ARTIFACTS") ?? Path.Combine(AppContext.BaseDirectory, "TestResults");
}
