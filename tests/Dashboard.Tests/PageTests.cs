using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Regatta.Dashboard.Access;
using Regatta.Dashboard.Actions;
using Regatta.Dashboard.Components.Pages;
using Regatta.Dashboard.Feed;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>One real Orleans test cluster for the page tests; each test uses its own worker and run ids.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public RegattaCluster Cluster { get; private set; } = null!;
    public async ValueTask InitializeAsync() => Cluster = await RegattaCluster.StartAsync();
    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>
/// Pages rendered by bunit against real grains: the shared feed's poller reads the cluster, actions change it, and the
/// pages show the change without being told to reload.
/// </summary>
public sealed class PageTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private IGrainFactory Grains => fixture.Cluster.Grains;

    private async Task<(BunitContext Context, FeedPoller Poller)> StartAsync(string role = DashboardRoles.Admin)
    {
        var context = DashboardBunit.Create(role, Grains);
        var poller = context.Services.GetRequiredService<FeedPoller>();
        await poller.StartAsync(Xunit.TestContext.Current.CancellationToken);
        return (context, poller);
    }

    private static async Task StopAsync(BunitContext context, FeedPoller poller)
    {
        await poller.StopAsync(CancellationToken.None);
        await context.DisposeAsync();
    }

    [Fact]
    public async Task Workers_page_shows_a_pending_worker_and_approving_it_changes_the_grain_and_the_page()
    {
        await using var worker = new ScriptedWorker(Grains, "page-pending");
        await worker.RegisterAsync(approve: false);
        var (context, poller) = await StartAsync();
        var page = context.Render<Regatta.Dashboard.Components.Pages.Workers>();

        page.WaitForAssertion(() => Assert.Contains("Pending", page.Find("tr[data-worker=page-pending]").TextContent), TimeSpan.FromSeconds(10));
        await page.Find("tr[data-worker=page-pending] button[data-testid=approve]").ClickAsync(new());

        await Eventually.Until(() => worker.Operator.GetView(), v => v.Approval == ApprovalStatus.Approved, TimeSpan.FromSeconds(10));
        page.WaitForAssertion(() => Assert.Contains("Approved", page.Find("tr[data-worker=page-pending]").TextContent), TimeSpan.FromSeconds(10));
        Assert.Equal(1, context.Services.GetRequiredService<DashboardFeed>().Subscribers);
        await StopAsync(context, poller);
    }

    [Fact]
    public async Task A_read_only_user_is_refused_on_the_server_even_when_calling_an_action_directly()
    {
        await using var worker = new ScriptedWorker(Grains, "page-viewer-target");
        await worker.RegisterAsync(approve: false);
        var (context, poller) = await StartAsync(DashboardRoles.Viewer);
        var page = context.Render<Regatta.Dashboard.Components.Pages.Workers>();
        page.WaitForAssertion(() => Assert.True(page.Find("tr[data-worker=page-viewer-target] button[data-testid=approve]").HasAttribute("disabled")), TimeSpan.FromSeconds(10));

        // A tampered client could still send the event: the action checks the role itself.
        var actions = context.Services.GetRequiredService<DashboardActions>();
        var outcome = await actions.ApproveWorker("page-viewer-target");
        Assert.False(outcome.Succeeded);
        Assert.Contains("admin", outcome.Message);
        var created = await actions.CreateRun("page-viewer-run", "name: x\n", start: false);
        Assert.False(created.Succeeded);
        Assert.Equal(ApprovalStatus.Pending, (await worker.Operator.GetView()).Approval);
        Assert.Equal("", (await Grains.GetGrain<IRunGrain>("page-viewer-run").GetView()).RunId);
        await StopAsync(context, poller);
    }

    [Fact]
    public async Task New_run_page_shows_the_coordinators_errors_at_their_lines_and_creates_a_valid_run()
    {
        var (context, poller) = await StartAsync();
        var page = context.Render<NewRun>();
        page.Find("[data-testid=run-id]").Input("page-run");
        const string refused = "name: page\nmodel:\n  name: mlp\n  parameters: { inputs: 4, hidden: 8, classes: 2 }\nminClients: 2\nminUpdates: 3\n";
        page.Find("[data-testid=yaml]").Input(refused);
        // Found and clicked on the renderer's thread: the feed may re-render the page in between otherwise.
        await page.InvokeAsync(() => page.Find("button[data-testid=create]").ClickAsync(new()));

        page.WaitForAssertion(() =>
        {
            var error = page.Find("[data-testid=spec-errors] .spec-error");
            Assert.Equal("6", error.GetAttribute("data-line"));
            Assert.Contains("minUpdates", error.TextContent);
        }, TimeSpan.FromSeconds(10));
        Assert.Equal("", (await Grains.GetGrain<IRunGrain>("page-run").GetView()).RunId); // nothing stored

        page.Find("[data-testid=yaml]").Input(refused.Replace("minUpdates: 3", "minUpdates: 1"));
        // Found and clicked on the renderer's thread: the feed may re-render the page in between otherwise.
        await page.InvokeAsync(() => page.Find("button[data-testid=create]").ClickAsync(new()));
        var run = await Eventually.Until(() => Grains.GetGrain<IRunGrain>("page-run").GetView(), v => v.RunId == "page-run", TimeSpan.FromSeconds(10));
        Assert.Equal(RunState.Created, run.State);
        Assert.Equal(2, run.Spec.MinClients);
        await StopAsync(context, poller);
    }

    [Fact]
    public async Task Network_settings_change_only_for_an_admin_and_only_to_allowed_values()
    {
        var (admin, adminPoller) = await StartAsync();
        var actions = admin.Services.GetRequiredService<DashboardActions>();
        Assert.True((await actions.SetTargetWorkers(7)).Succeeded);
        Assert.False((await actions.SetTargetWorkers(0)).Succeeded);
        Assert.False((await actions.SetQuantization("fp3")).Succeeded);
        Assert.True((await actions.SetQuantization("int8")).Succeeded);
        var page = admin.Render<Regatta.Dashboard.Components.Pages.Network>();
        page.WaitForAssertion(() => Assert.Contains("7 wanted workers", page.Find("[data-testid=network-settings]").TextContent), TimeSpan.FromSeconds(10));
        // The layer plan under the settings: the served model's source, bytes per block in the chosen mode, the recommendation.
        page.WaitForAssertion(() =>
        {
            var plan = page.Find("[data-testid=network-plan]").TextContent;
            Assert.Contains("Weights from seed:", plan);
            Assert.Contains("per block in int8", plan);
            Assert.Contains("workers recommended", plan);
        }, TimeSpan.FromSeconds(10));
        await StopAsync(admin, adminPoller);

        var (viewer, viewerPoller) = await StartAsync(DashboardRoles.Viewer);
        Assert.False((await viewer.Services.GetRequiredService<DashboardActions>().SetTargetWorkers(3)).Succeeded);
        await StopAsync(viewer, viewerPoller);
        var settings = await Grains.GetGrain<Regatta.Network.INetworkSettingsGrain>(0).Get();
        Assert.Equal(7, settings.TargetWorkers);
        Assert.Equal("int8", settings.Quantization);
    }

    [Fact]
    public async Task Overview_counts_what_the_cluster_holds()
    {
        await using var pending = new ScriptedWorker(Grains, "page-overview-pending");
        await pending.RegisterAsync(approve: false);
        var (context, poller) = await StartAsync();
        var page = context.Render<Overview>();
        page.WaitForAssertion(() =>
        {
            Assert.Equal("1 / 1", page.Find("[data-testid=stat-silos-value]").TextContent.Trim());
            Assert.NotEqual("0", page.Find("[data-testid=stat-pending-value]").TextContent.Trim());
        }, TimeSpan.FromSeconds(10));
        Assert.Contains("Orleans dashboard", page.Find("[data-testid=orleans-link]").TextContent, StringComparison.OrdinalIgnoreCase);
        await StopAsync(context, poller);
    }
}
