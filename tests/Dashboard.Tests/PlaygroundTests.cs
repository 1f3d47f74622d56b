using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Regatta.Dashboard.Components.Pages;
using Regatta.Dashboard.Feed;
using Regatta.Network;
using Regatta.Workers;
using Regatta.WorkerAgent;

namespace Regatta.Tests;

/// <summary>
/// The Network page serves a Hugging Face folder and the Playground generates through a real agent holding it
/// (a cluster of its own: the served model changes).
/// </summary>
public sealed class PlaygroundTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task An_operator_serves_a_folder_from_the_network_page_and_the_playground_streams_text_and_shows_the_chain()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var reference = HfReference.Write("llama", cluster.DataDir);
        await using var context = DashboardBunit.Create(grains: cluster.Grains);
        var poller = context.Services.GetRequiredService<FeedPoller>();
        await poller.StartAsync(Xunit.TestContext.Current.CancellationToken);
        try
        {
            var network = context.Render<Regatta.Dashboard.Components.Pages.Network>();
            network.WaitForElement("[data-testid=model-folder]", TimeSpan.FromSeconds(10)).Change(reference.Folder);
            await network.Find("button[data-testid=serve-folder]").ClickAsync(new());
            var model = await Eventually.Until(() => cluster.Grains.GetGrain<ILayerMapGrain>(0).GetModel(), m => m.Source.StartsWith("folder:"), Patience, "the folder is served");
            Assert.Equal("hf:llama", model.Spec.Name);

            var gateway = cluster.Cluster.Primary!.GatewayAddress!.Endpoint;
            var options = new AgentOptions
            {
                Coordinator = $"{gateway.Address}:{gateway.Port}",
                Name = "pg-agent",
                WorkerId = "pg-agent",
                Device = "cpu",
                Heartbeat = TimeSpan.FromMilliseconds(500),
                CacheDir = Path.Combine(cluster.DataDir, "agents", "pg-agent"),
                ServeMemoryBytes = 64L << 20,
                SiloCertSha256 = cluster.CertificateSha256,
            };
            using var host = AgentHost.Build(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
            await host.StartAsync(Xunit.TestContext.Current.CancellationToken);
            var session = new WorkerSession(options, host.Services.GetRequiredService<IClusterClient>(), host.Services.GetRequiredService<ILoggerFactory>(),
                host.Services.GetRequiredService<WorkerCredential>());
            using var stop = new CancellationTokenSource();
            var loop = Task.Run(() => session.RunAsync(stop.Token), Xunit.TestContext.Current.CancellationToken);
            try
            {
                await Eventually.Until(() => cluster.Grains.GetGrain<IWorkerOperatorGrain>("pg-agent").GetView(), v => v.Approval == ApprovalStatus.Pending, Patience, "the agent registers");
                await cluster.Grains.GetGrain<IWorkerOperatorGrain>("pg-agent").Approve();
                await Eventually.Until(() => cluster.Grains.GetGrain<IWorkerOperatorGrain>("pg-agent").GetView(), v => v.Serving, Patience, "the agent serves");
                await cluster.Grains.GetGrain<IUserGrain>("playground").Register("Playground");

                var page = context.Render<Playground>();
                page.WaitForAssertion(() => Assert.Contains("hf:llama", page.Find("[data-testid=playground-model]").TextContent), TimeSpan.FromSeconds(10));
                page.Find("[data-testid=playground-prompt]").Change("hello the world");
                await page.Find("button[data-testid=playground-generate]").ClickAsync(new());
                page.WaitForAssertion(() => Assert.NotNull(page.Find("tr[data-hop=pg-agent]")), Patience);
                Assert.Contains("0–5", page.Find("tr[data-hop=pg-agent]").TextContent);
                Assert.Contains("KV-cache sessions", page.Find("[data-testid=playground-chain]").TextContent);
                Assert.Empty(page.FindAll("[data-testid=playground-error]"));
                var usage = Assert.Single(await cluster.Grains.GetGrain<IUsageLogGrain>(0).Recent(10));
                Assert.Equal("playground", usage.UserId);
                Assert.Equal(usage.CompletionTokens, session.Serving.TokensServedTotal - usage.PromptTokens + 1);
            }
            finally
            {
                await stop.CancelAsync();
                try { await loop; } catch (OperationCanceledException) { }
                await host.StopAsync(CancellationToken.None);
            }
        }
        finally
        {
            await poller.StopAsync(CancellationToken.None);
        }
    }
}
