using Regatta.Network;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>
/// End to end with a Hugging Face model: real agents load their thirds of a Llama-family checkpoint (written with
/// python3-torch, which also computes the reference logits) from the parts the silo published from the folder.
/// </summary>
public sealed class HfInferenceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static async Task<List<RunningAgent>> Serve(RegattaCluster cluster, AgentFleet fleet, string[] ids, int blocksEach, TimeSpan delay = default, long? sessionMemory = null)
    {
        var model = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetModel();
        var memory = model.ParametersPerBlock * 4 * blocksEach + model.ParametersPerBlock;
        var agents = new List<RunningAgent>();
        foreach (var id in ids)
        {
            agents.Add(await fleet.StartAsync(id, runId: null, joinToken: null, serveMemoryBytes: memory, serveDelay: delay, sessionMemoryBytes: sessionMemory));
            await Eventually.Until(() => cluster.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView(), v => v.Approval == ApprovalStatus.Pending, Patience, $"{id} registers");
            await cluster.Grains.GetGrain<IWorkerOperatorGrain>(id).Approve();
        }
        foreach (var id in ids)
            await Eventually.Until(() => cluster.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView(), v => v.Serving, Patience, $"{id} serves its blocks");
        return agents;
    }

    [Fact]
    public async Task Three_agents_holding_thirds_of_a_llama_checkpoint_give_the_reference_logits_and_sessions_change_nothing()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var reference = HfReference.Write("llama", cluster.DataDir);
        // The 4th greedy token is made an end-of-sequence token, so a request can stop before its last planned step.
        var stop = reference.Greedy[3];
        var configPath = Path.Combine(reference.Folder, "config.json");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!;
        config["eos_token_id"] = new System.Text.Json.Nodes.JsonArray(stop);
        File.WriteAllText(configPath, config.ToJsonString());
        var served = await cluster.Grains.GetGrain<ILayerMapGrain>(0).ServeFolder(reference.Folder);
        Assert.Contains(stop, served.EosTokens);
        Assert.Equal((6, 320, "float32", true), (served.Blocks, served.Vocab, served.DType, served.Sessions));
        Assert.Equal(8, served.PartHashes.Count);
        Assert.Equal(await cluster.Grains.GetGrain<ILayerMapGrain>(0).ServeFolder(reference.Folder) is { } again ? again.Version : "", served.Version);
        await using var fleet = new AgentFleet(cluster);
        var agents = await Serve(cluster, fleet, ["l-1", "l-2", "l-3"], blocksEach: 2);
        var plan = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView();
        Assert.Equal([new LayerRange(0, 2), new LayerRange(2, 4), new LayerRange(4, 6)], plan.Assignments.Values.OrderBy(r => r.Start));
        await cluster.Grains.GetGrain<IUserGrain>("ada").Register("Ada");
        var inference = cluster.Grains.GetGrain<IInferenceGrain>(0);

        for (var p = 0; p < reference.Prompts.Length; p++)
        {
            var result = await inference.Generate(new GenerationRequest { UserId = "ada", PromptTokens = [.. reference.Prompts[p]], MaxNewTokens = 0, ReturnLogits = true });
            var actual = Assert.Single(result.Logits);
            for (var i = 0; i < actual.Length; i++) Assert.True(Math.Abs(reference.Logits[p][i] - actual[i]) <= 1e-4f, $"prompt {p} logit {i}: {reference.Logits[p][i]} vs {actual[i]}");
            Assert.Equal(["l-1", "l-2", "l-3"], result.WorkerIds.Order());
        }

        // Greedy, 32 tokens: with a key/value cache on every hop, without one, and the reference all agree.
        var cached = await inference.Generate(new GenerationRequest { UserId = "ada", PromptTokens = [.. reference.GreedyPrompt], MaxNewTokens = 32 });
        var uncached = await inference.Generate(new GenerationRequest { UserId = "ada", PromptTokens = [.. reference.GreedyPrompt], MaxNewTokens = 32, UseSessions = false });
        Assert.True(cached.Sessions);
        Assert.False(uncached.Sessions);
        Assert.Equal(reference.Greedy, cached.Tokens);
        Assert.Equal(reference.Greedy, uncached.Tokens);
        Assert.Equal(3, cached.Chain.Count);

        // Text in, text out; a chat prompt goes through the model's template; the stream yields each token then the result.
        var text = await inference.Generate(new GenerationRequest { UserId = "ada", Prompt = "hello the world", MaxNewTokens = 5 });
        Assert.Equal(5, text.CompletionTokens);
        Assert.False(string.IsNullOrEmpty(text.Text));
        var chat = await inference.Generate(new GenerationRequest { UserId = "ada", Prompt = "hello", Chat = true, MaxNewTokens = 3 });
        // <|start_header_id|> u s e r <|end_header_id|> \n \n hello <|eot_id|> <|start_header_id|> a s s i s t a n t <|end_header_id|> \n \n
        Assert.Equal(1 + 4 + 1 + 2 + 1 + 1 + 1 + 9 + 1 + 2, chat.PromptTokens);
        var events = new List<GenerationEvent>();
        await foreach (var e in cluster.Grains.GetGrain<IInferenceStreamGrain>(Guid.NewGuid().ToString("n")).Stream(new GenerationRequest { UserId = "ada", PromptTokens = [.. reference.GreedyPrompt], MaxNewTokens = 8 }))
            events.Add(e);
        Assert.Equal(9, events.Count);
        Assert.Equal(reference.Greedy[..8], events[..8].Select(e => e.Token));
        Assert.Equal(reference.Greedy[..8], events[^1].Result!.Tokens);
        Assert.All(events[..8], e => Assert.Null(e.Result));

        // Every request closed its session on every hop: with its last step, or (stopped early) right after it.
        var early = await inference.Generate(new GenerationRequest { UserId = "ada", PromptTokens = [.. reference.GreedyPrompt], MaxNewTokens = 32, StopAtEos = true });
        Assert.Equal(reference.Greedy[..(Array.IndexOf(reference.Greedy, stop) + 1)], early.Tokens);
        Assert.True(early.CompletionTokens < 32);
        foreach (var agent in agents) await Eventually.Until(() => Task.FromResult(agent.Session.Serving.Sessions.Count), n => n == 0, Patience, $"{agent.Id} holds no session");
    }

    [Fact]
    public async Task A_worker_killed_mid_generation_is_replaced_its_replacement_rebuilds_the_cache_and_the_tokens_are_the_same()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var reference = HfReference.Write("llama", cluster.DataDir);
        await cluster.Grains.GetGrain<ILayerMapGrain>(0).ServeFolder(reference.Folder);
        await using var fleet = new AgentFleet(cluster);
        // Four agents with room for two blocks each: three tile the model, the fourth replicates blocks 0-1.
        var agents = await Serve(cluster, fleet, ["k-a", "k-b", "k-c", "k-d"], blocksEach: 2, delay: TimeSpan.FromMilliseconds(30));
        var plan = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView();
        Assert.Equal([2, 2, 1, 1, 1, 1], plan.Replicas);
        var replicated = plan.Assignments.Where(a => a.Value.Start == 0).Select(a => a.Key).ToHashSet();
        await cluster.Grains.GetGrain<IUserGrain>("carol").Register("Carol");

        var generation = cluster.Grains.GetGrain<IInferenceGrain>(0).Generate(new GenerationRequest { UserId = "carol", PromptTokens = [.. reference.GreedyPrompt], MaxNewTokens = 32 });
        // The chain is pinned for the session: the replica of blocks 0-1 that serves its steps is the victim.
        var victim = await Eventually.Until(() => Task.FromResult(agents.FirstOrDefault(a => replicated.Contains(a.Id) && a.Session.Serving.TokensServedTotal > 8)),
            a => a is not null, Patience, "a replica of blocks 0-1 has served a few steps");
        await victim!.KillAsync();
        var result = await generation;

        Assert.Equal(reference.Greedy, result.Tokens);
        Assert.True(result.Sessions);
        Assert.True(result.Retries >= 1, "the killed worker's hop was retried");
        Assert.Contains(replicated.Single(id => id != victim.Id), result.WorkerIds);
        var carol = (await cluster.Grains.GetGrain<IUserGrain>("carol").Get())!;
        Assert.Equal((1L, 5L, 32L), (carol.Requests, carol.PromptTokens, carol.CompletionTokens));
    }

    [Fact]
    public async Task A_worker_whose_session_cache_is_full_refuses_the_session_and_the_router_uses_another_replica()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var reference = HfReference.Write("llama", cluster.DataDir);
        var model = await cluster.Grains.GetGrain<ILayerMapGrain>(0).ServeFolder(reference.Folder);
        await using var fleet = new AgentFleet(cluster);
        // Two replicas of the whole model; one has no room for a session's cache.
        var agents = new List<RunningAgent>();
        agents.AddRange(await Serve(cluster, fleet, ["full"], blocksEach: 6, sessionMemory: 1024));
        agents.AddRange(await Serve(cluster, fleet, ["roomy"], blocksEach: 6));
        var plan = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView();
        Assert.Equal([2, 2, 2, 2, 2, 2], plan.Replicas);
        await cluster.Grains.GetGrain<IUserGrain>("dan").Register("Dan");

        var result = await cluster.Grains.GetGrain<IInferenceGrain>(0).Generate(new GenerationRequest { UserId = "dan", PromptTokens = [.. reference.GreedyPrompt], MaxNewTokens = 32 });
        Assert.Equal(reference.Greedy, result.Tokens);
        Assert.Equal(["roomy"], result.WorkerIds);
        Assert.True(result.Retries <= 1);
        Assert.Equal(0, agents[0].Session.Serving.Sessions.Count);
        Assert.Equal(0, agents[1].Session.Serving.Sessions.Count); // the last step closed it
    }
}
