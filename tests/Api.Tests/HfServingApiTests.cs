using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Regatta.Tests;
using Regatta.WorkerAgent;

namespace Regatta.Api.Tests;

/// <summary>
/// PUT /api/network/model?folder= serves a Hugging Face folder; POST /api/inference/generate takes text and streams
/// server-sent events, with a real agent holding the model. A silo of its own (a class fixture): it changes the served model.
/// </summary>
public sealed class HfServingApiTests(KestrelApiSilo silo) : IClassFixture<KestrelApiSilo>
{
    [Fact]
    public async Task A_folder_is_served_text_goes_in_and_out_and_tokens_stream_one_by_one_before_the_usage_record()
    {
        using var admin = silo.Admin();
        var reference = HfReference.Write("llama", silo.DataDir);
        Assert.Contains("absolute", await admin.PutAsync("/api/network/model?folder=relative/path", null).Problem(400, "folder"));
        Assert.Contains("does not exist", await admin.PutAsync($"/api/network/model?folder={Uri.EscapeDataString(reference.Folder + "-missing")}", null).Problem(400, "folder"));
        Assert.Contains("exactly one", await admin.PutAsync($"/api/network/model?seed=1&folder=/x", null).Problem(400, "seed"));
        using (var anonymous = silo.Anonymous())
            await anonymous.PutAsync($"/api/network/model?folder={Uri.EscapeDataString(reference.Folder)}", null).Problem(401, "Authorization");
        var model = await admin.PutAsync($"/api/network/model?folder={Uri.EscapeDataString(reference.Folder)}", null).Expect();
        Assert.Equal(("hf:llama", "float32", 6, 320), (model.Str("architecture"), model.Str("dtype"), model.Int("total_layers"), model.Int("vocab")));
        Assert.True(model.GetProperty("tokenizer").GetBoolean());
        Assert.StartsWith("folder:", model.Str("model_source"));

        var id = Http.NewId("hf-agent");
        var options = new AgentOptions
        {
            Coordinator = $"127.0.0.1:{silo.GatewayPort}",
            SiloCertSha256 = File.ReadAllText(Path.Combine(silo.DataDir, Regatta.Silo.Security.SiloTls.LocalFingerprintFile)),
            Name = id,
            WorkerId = id,
            Device = "cpu",
            Heartbeat = TimeSpan.FromMilliseconds(500),
            CacheDir = Path.Combine(silo.DataDir, "agents", id),
            ServeMemoryBytes = 64L << 20,
            ServeDelay = TimeSpan.FromMilliseconds(50), // each step takes a while, so the stream is seen mid-generation
        };
        using var host = AgentHost.Build(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var session = new WorkerSession(options, host.Services.GetRequiredService<IClusterClient>(), host.Services.GetRequiredService<ILoggerFactory>(),
            host.Services.GetRequiredService<WorkerCredential>());
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => session.RunAsync(stop.Token));
        try
        {
            await Eventually.Until(() => admin.PostAsync($"/api/workers/{id}/approve", null), r => r.IsSuccessStatusCode, TimeSpan.FromSeconds(60), "the agent registers and is approved");
            await Eventually.Until(() => admin.GetAsync("/api/network/assignments").Expect(), p => p.GetProperty("ready_for_inference").GetBoolean(), TimeSpan.FromSeconds(60), "the agent holds the model");
            await Eventually.Until(() => Task.FromResult(session.Serving.Holding), h => h is not null, TimeSpan.FromSeconds(60), "the agent loaded its blocks");
            var user = Http.NewId("reader");
            await admin.PostAsync("/api/users/register", Http.Json($$"""{"user_id": "{{user}}"}""")).Expect(HttpStatusCode.Created);

            var text = await Eventually.Until(() => admin.PostAsync("/api/inference/generate", Http.Json($$"""{"user_id": "{{user}}", "prompt": "hello the world", "max_new_tokens": 4}""")),
                r => r.StatusCode != HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30), "the agent announced itself").Expect();
            Assert.Equal(4, text.GetProperty("tokens").GetArrayLength());
            Assert.Equal(JsonValueKind.String, text.GetProperty("text").ValueKind);
            Assert.True(text.GetProperty("sessions").GetBoolean());
            Assert.Contains("both", await admin.PostAsync("/api/inference/generate", Http.Json($$"""{"user_id": "{{user}}", "prompt": "x", "prompt_tokens": [1], "max_new_tokens": 1}""")).Problem(400, "prompt"));
            Assert.Contains("text prompt", await admin.PostAsync("/api/inference/generate", Http.Json($$"""{"user_id": "{{user}}", "prompt_tokens": [1], "chat": true, "max_new_tokens": 1}""")).Problem(400, "chat"));

            // Streaming: the first token arrives while the agent has served only the prompt's step, the usage record last.
            var served = session.Serving.TokensServedTotal;
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/inference/generate")
            {
                Content = Http.Json($$"""{"user_id": "{{user}}", "prompt_tokens": [{{string.Join(",", reference.GreedyPrompt)}}], "max_new_tokens": 16}"""),
            };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            using var response = await admin.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var events = new List<(string Name, JsonElement Data)>();
            long servedAtFirst = -1;
            for (string? name = null, line; (line = await reader.ReadLineAsync()) is not null;)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    events.Add((name!, JsonDocument.Parse(line[6..]).RootElement.Clone()));
                    if (events.Count == 1) servedAtFirst = session.Serving.TokensServedTotal - served;
                }
            }
            Assert.Equal(17, events.Count);
            Assert.All(events[..16], e => Assert.Equal("token", e.Name));
            Assert.Equal(reference.Greedy[..16], events[..16].Select(e => e.Data.Int("token")));
            Assert.Equal("usage", events[16].Name);
            Assert.Equal((5, 16), (events[16].Data.Int("prompt_tokens"), events[16].Data.Int("completion_tokens")));
            // 5 prompt tokens + one per later step make 20 in all; at the first event at most a step or two had run.
            Assert.Equal(20, session.Serving.TokensServedTotal - served);
            Assert.InRange(servedAtFirst, 5, 8);
        }
        finally
        {
            await stop.CancelAsync();
            try { await loop; } catch (OperationCanceledException) { }
            await host.StopAsync();
        }
    }
}
