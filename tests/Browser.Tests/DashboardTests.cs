using Microsoft.Playwright;
using Regatta.Runs;
using Regatta.Workers;
using static Microsoft.Playwright.Assertions;

namespace Regatta.Tests;

/// <summary>An operator's day, in a real browser against a real silo: sign in, approve, submit, watch.</summary>
public sealed class DashboardTests(DashboardFixture fixture)
{
    private const string QuickSpec = """
        name: browser-quick
        model:
          name: mlp
          parameters: { inputs: 4, hidden: 8, classes: 2 }
        data: { source: blobs, partitions: 2, samplesPerClient: 50, validationSamples: 100 }
        rounds: 3
        minClients: 2
        minUpdates: 1
        warmup: 300ms
        roundDeadline: 20s
        witnessDeadline: 20s
        witnesses: { count: 1, quorum: 1, lossTolerance: 10 }
        aggregation: { maxUpdateNorm: 0 }
        seed: 3
        """;

    [Fact]
    public async Task Operator_approves_pending_workers_submits_a_run_and_watches_it_reach_a_round()
    {
        await using var alpha = new ScriptedWorker(fixture.Grains, "browser-alpha");
        await using var beta = new ScriptedWorker(fixture.Grains, "browser-beta");
        await alpha.RegisterAsync(approve: false);
        await beta.RegisterAsync(approve: false);
        var page = await fixture.SignedInPageAsync();
        await DashboardFixture.ScreenshotAsync(page, "01-overview");

        await page.ClickAsync("a[href='/workers']");
        var alphaRow = page.Locator("tr[data-worker=browser-alpha]");
        await Expect(alphaRow).ToContainTextAsync("Pending");
        await DashboardFixture.ScreenshotAsync(page, "02-workers-pending");
        foreach (var id in new[] { "browser-alpha", "browser-beta" })
        {
            var row = page.Locator($"tr[data-worker={id}]");
            await row.Locator("[data-testid=approve]").ClickAsync();
            // The grain changed and the feed shows it without a reload.
            await Expect(row).ToContainTextAsync("Approved");
        }
        Assert.Equal(ApprovalStatus.Approved, (await alpha.Operator.GetView()).Approval);

        await page.GotoAsync("/runs/new");
        await DashboardFixture.WaitInteractiveAsync(page);
        await page.Locator("[data-testid=run-id]").FillAsync("browser-run");
        await page.Locator("[data-testid=yaml]").FillAsync(QuickSpec);
        await Expect(page.Locator(".spec-editor .gutter-line")).ToHaveCountAsync(QuickSpec.Split('\n').Length);
        await DashboardFixture.ScreenshotAsync(page, "03-new-run");
        await page.ClickAsync("[data-testid=create-start]");
        await page.WaitForURLAsync("**/runs/browser-run");
        await Expect(page.Locator("[data-state=WaitingForMembers]").First).ToBeVisibleAsync();

        // The agents' side: both workers join and do their jobs.
        var run = fixture.Grains.GetGrain<IRunGrain>("browser-run");
        await run.Join(alpha.WorkerId, null);
        await run.Join(beta.WorkerId, null);
        alpha.Start();
        beta.Start();

        await Expect(page.Locator("[data-testid=rounds-table] tr[data-round='1']")).ToBeVisibleAsync(new() { Timeout = 90_000 });
        // Two rounds make a line: the charts draw one series per measure, updated as rounds commit.
        await Expect(page.Locator("[data-testid=rounds-table] tr[data-round='2']")).ToBeVisibleAsync(new() { Timeout = 90_000 });
        // (A flat line has no height, so "visible" is the wrong test: the path must join at least two points.)
        var drawn = new System.Text.RegularExpressions.Regex(@"^M [\d.]+ [\d.]+ L [\d.]+ [\d.]+");
        await Expect(page.Locator("[data-testid=loss-chart] path.mud-chart-line").First).ToHaveAttributeAsync("d", drawn);
        await Expect(page.Locator("[data-testid=accuracy-chart] path.mud-chart-line").First).ToHaveAttributeAsync("d", drawn);
        await Expect(page.Locator("[data-testid=members-table] tr[data-member=browser-alpha]")).ToContainTextAsync("Active");
        await Expect(page.Locator("[data-testid=timeline]")).ToContainTextAsync("Round train");
        await DashboardFixture.ScreenshotAsync(page, "04-run-detail");

        // Round 1's checkpoint leaves as a safetensors file that names the model's tensors, and the run goes back to it.
        var checkpoint = page.Locator("[data-testid=checkpoints-table] tr[data-checkpoint='1']");
        var download = await page.RunAndWaitForDownloadAsync(() => checkpoint.Locator("[data-testid=checkpoint-weights]").ClickAsync());
        var file = await File.ReadAllBytesAsync((await download.PathAsync())!);
        var headerLength = (int)BitConverter.ToUInt64(file, 0);
        using (var header = System.Text.Json.JsonDocument.Parse(file.AsMemory(8, headerLength)))
        {
            var tensors = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").ToList();
            Assert.NotEmpty(tensors);
            Assert.All(tensors, t => Assert.Equal("F32", t.Value.GetProperty("dtype").GetString()));
            Assert.Equal(file.Length - 8 - headerLength, tensors.Sum(t => t.Value.GetProperty("data_offsets")[1].GetInt64() - t.Value.GetProperty("data_offsets")[0].GetInt64()));
        }
        // (Rounds go on committing meanwhile: newer checkpoints are inserted above this row, and its button stays its own.)
        await checkpoint.Locator("[data-testid=checkpoint-restore]").ClickAsync();
        await Expect(page.Locator(".mud-dialog")).ToContainTextAsync("back to the model of round 1");
        await page.Locator(".mud-dialog").GetByRole(AriaRole.Button, new() { Name = "Restore", Exact = true }).ClickAsync();
        await Expect(page.Locator(".mud-snackbar").Last).ToContainTextAsync("restored from the checkpoint of round 1");
        // (The workers are still there: the run trains rounds 2 and 3 again at once, so the restore soon scrolls out of the timeline.)
        Assert.Contains(await run.GetTimeline(), t => t.Reason.Contains("restored from checkpoint of round 1"));

        await page.ClickAsync("a[href='/runs']");
        await Expect(page.Locator("tr[data-run=browser-run]")).ToBeVisibleAsync();
        await DashboardFixture.ScreenshotAsync(page, "05-runs");

        await page.GotoAsync("/jobs?run=browser-run");
        await DashboardFixture.WaitInteractiveAsync(page);
        await Expect(page.Locator("[data-testid=jobs-table] tbody tr[data-job]").First).ToBeVisibleAsync();
        await DashboardFixture.ScreenshotAsync(page, "06-jobs");

        await page.GotoAsync("/network");
        await DashboardFixture.WaitInteractiveAsync(page);
        await Expect(page.Locator("[data-testid=network-settings]")).ToContainTextAsync("Serving");
        await DashboardFixture.ScreenshotAsync(page, "07-network");

        await page.GotoAsync("/");
        await DashboardFixture.WaitInteractiveAsync(page);
        await Expect(page.Locator("[data-testid=stat-online-value]")).Not.ToHaveTextAsync("0");
        await DashboardFixture.ScreenshotAsync(page, "08-overview-active");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Bad_yaml_shows_its_error_at_its_line_and_creates_nothing()
    {
        var page = await fixture.SignedInPageAsync();
        await page.GotoAsync("/runs/new");
        await DashboardFixture.WaitInteractiveAsync(page);
        await page.Locator("[data-testid=run-id]").FillAsync("browser-bad");
        var yaml = page.Locator("[data-testid=yaml]");

        // A field the spec does not have: the parser names it and its line while typing.
        await yaml.FillAsync("name: bad\nrounds: 3\nlearningRat: 0.1\n");
        var errors = page.Locator("[data-testid=spec-errors]");
        await Expect(errors).ToContainTextAsync("Line 3");
        await Expect(errors).ToContainTextAsync("learningRat");
        await DashboardFixture.ScreenshotAsync(page, "09-new-run-syntax-error");

        // Well-formed but refused by the coordinator: the error names the field and points at its line.
        await yaml.FillAsync("name: bad\nmodel:\n  name: mlp\n  parameters: { inputs: 4, hidden: 8, classes: 2 }\nrounds: 0\n");
        await Expect(errors).ToBeHiddenAsync();
        await page.ClickAsync("[data-testid=create]");
        await Expect(errors).ToContainTextAsync("rounds");
        await Expect(errors).ToContainTextAsync("Line 5");
        await DashboardFixture.ScreenshotAsync(page, "10-new-run-validation-error");

        Assert.Equal(RunState.Created, (await fixture.Grains.GetGrain<IRunGrain>("browser-bad").GetView()).State);
        Assert.Equal("", (await fixture.Grains.GetGrain<IRunGrain>("browser-bad").GetView()).RunId);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Read_only_user_sees_but_cannot_act()
    {
        await using var pending = new ScriptedWorker(fixture.Grains, "browser-viewer-sees");
        await pending.RegisterAsync(approve: false);
        var page = await fixture.SignedInPageAsync("viewer");
        await Expect(page.Locator("[data-testid=signed-in-as]")).ToContainTextAsync("read-only");
        await page.ClickAsync("a[href='/workers']");
        var row = page.Locator("tr[data-worker=browser-viewer-sees]");
        await Expect(row).ToContainTextAsync("Pending");
        await Expect(row.Locator("[data-testid=approve]")).ToBeDisabledAsync();
        await Expect(row.Locator("[data-testid=reject]")).ToBeDisabledAsync();
        await DashboardFixture.ScreenshotAsync(page, "11-workers-read-only");

        // Orleans' dashboard is for admins only.
        await page.GotoAsync("/orleans/");
        Assert.Contains("/denied", page.Url);
        Assert.Equal(ApprovalStatus.Pending, (await pending.Operator.GetView()).Approval);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Sign_in_refuses_a_wrong_password_and_guards_every_page()
    {
        var context = await fixture.Browser.NewContextAsync(new() { BaseURL = fixture.Silo.BaseUrl });
        var page = await context.NewPageAsync();
        foreach (var path in new[] { "/", "/runs", "/workers", "/jobs", "/network", "/orleans/" })
        {
            await page.GotoAsync(path);
            Assert.Contains("/signin", page.Url);
        }
        await page.FillAsync("#username", "admin");
        await page.FillAsync("#password", "not-the-password");
        await page.ClickAsync("[data-testid=signin-submit]");
        await Expect(page.Locator("[data-testid=signin-error]")).ToBeVisibleAsync();
        await DashboardFixture.ScreenshotAsync(page, "00-signin-refused");
        await context.CloseAsync();
    }

    [Fact]
    public async Task Orleans_dashboard_opens_for_an_admin()
    {
        var page = await fixture.SignedInPageAsync();
        await Expect(page.Locator("[data-testid=orleans-link]")).ToBeVisibleAsync();
        var response = await page.GotoAsync("/orleans/");
        Assert.True(response!.Status == 200, $"/orleans answered {response.Status}: the silo must call AddDashboard() in SiloSetup.ConfigureRegattaSilo");
        // Its own page loads its data from its API under /orleans, which the sign-in cookie opens too.
        await Expect(page.Locator("body")).ToContainTextAsync("Orleans Dashboard");
        await Expect(page.GetByText("Loading...")).ToBeHiddenAsync(new() { Timeout = 30_000 });
        await DashboardFixture.ScreenshotAsync(page, "12-orleans-dashboard");
        await page.Context.CloseAsync();
    }
}
