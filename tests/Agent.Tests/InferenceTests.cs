using Regatta.Learning.Models;
using Regatta.Learning.Weights;
using Regatta.Network;
using Regatta.Workers;
using static TorchSharp.torch;

namespace Regatta.Tests;

/// <summary>End to end: real agents each hold a share of a transformer and serve requests routed through the cluster.</summary>
public sealed class InferenceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Starts agents with room for <paramref name="blocksEach"/> blocks each, approves them and waits until every one serves.</summary>
    private static async Task<List<RunningAgent>> StartServing(RegattaCluster cluster, AgentFleet fleet, string[] ids, int blocksEach, TimeSpan delay = default)
    {
        var model = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetModel();
        var memory = model.ParametersPerBlock * 4 * blocksEach + model.ParametersPerBlock; // room for blocksEach and a half
        var agents = new List<RunningAgent>();
        foreach (var id in ids)
        {
            agents.Add(await fleet.StartAsync(id, runId: null, joinToken: null, serveMemoryBytes: memory, serveDelay: delay));
            await Eventually.Until(() => cluster.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView(), v => v.Approval == ApprovalStatus.Pending, Patience, $"{id} registers");
            await cluster.Grains.GetGrain<IWorkerOperatorGrain>(id).Approve();
        }
        foreach (var id in ids)
            await Eventually.Until(() => cluster.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView(), v => v.Serving, Patience, $"{id} serves its blocks");
        await Eventually.Until(() => cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView(), v => ids.All(v.Serving.ContainsKey), Patience,
            "the layer map counts every agent as serving");
        return agents;
    }

    private static async Task<float[]> WholeModelLogits(RegattaCluster cluster, IReadOnlyList<int> prompt)
    {
        var model = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetModel();
        var store = new Regatta.Grains.Models.BlobStore(Microsoft.Extensions.Options.Options.Create(new Regatta.Grains.CoordinatorOptions { DataDir = cluster.DataDir }));
        var parts = new List<NamedTensor>();
        foreach (var hash in model.PartHashes) parts.AddRange(ModelWeights.FromBytes(await store.ReadAllAsync(hash)).Tensors);
        using var scope = NewDisposeScope();
        var whole = (TransformerLM)ModelCatalog.Create(model.Spec, seed: 0);
        WeightsIO.Load(whole, new ModelWeights(parts));
        whole.eval();
        using var noGrad = no_grad();
        var logits = whole.forward(tensor(prompt.Select(t => (long)t).ToArray(), [1, prompt.Count]));
        return logits[0, -1].data<float>().ToArray();
    }

    [Fact]
    public async Task Three_agents_holding_a_third_each_give_the_whole_models_logits_and_usage_adds_up()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        await using var fleet = new AgentFleet(cluster);
        await StartServing(cluster, fleet, ["third-1", "third-2", "third-3"], blocksEach: 2);
        var plan = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView();
        Assert.True(plan.ReadyForInference);
        Assert.Equal([new LayerRange(0, 2), new LayerRange(2, 4), new LayerRange(4, 6)], plan.Assignments.Values.OrderBy(r => r.Start));

        var inference = cluster.Grains.GetGrain<IInferenceGrain>(0);
        await Assert.ThrowsAsync<RegattaException>(() => inference.Generate(new GenerationRequest { UserId = "nobody", PromptTokens = [1], MaxNewTokens = 1 }));
        await cluster.Grains.GetGrain<IUserGrain>("ada").Register("Ada");
        await cluster.Grains.GetGrain<IUserGrain>("bob").Register("Bob");

        int[][] prompts = [[5], [1, 2, 3, 4, 5, 6, 7, 8], [60, 0, 33, 33, 12, 9, 41, 7, 7, 2, 50, 19]];
        foreach (var prompt in prompts)
        {
            var result = await inference.Generate(new GenerationRequest { UserId = "ada", PromptTokens = [.. prompt], MaxNewTokens = 0, ReturnLogits = true });
            var expected = await WholeModelLogits(cluster, prompt);
            var actual = Assert.Single(result.Logits);
            Assert.Equal(expected.Length, actual.Length);
            for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-4f);
            Assert.Equal(["third-1", "third-2", "third-3"], result.WorkerIds.Order());
            Assert.Equal(0, result.Retries);
        }

        // Generation: greedy decoding through the chain equals greedy decoding of the whole model, token by token.
        var generated = await inference.Generate(new GenerationRequest { UserId = "bob", PromptTokens = [3, 1, 4], MaxNewTokens = 6, ReturnLogits = true });
        Assert.Equal(6, generated.Tokens.Count);
        var sequence = new List<int> { 3, 1, 4 };
        foreach (var token in generated.Tokens)
        {
            var logits = await WholeModelLogits(cluster, sequence);
            Assert.Equal(Array.IndexOf(logits, logits.Max()), token);
            sequence.Add(token);
        }
        var sampled = await inference.Generate(new GenerationRequest { UserId = "bob", PromptTokens = [9, 9], MaxNewTokens = 5, Temperature = 1, TopK = 8, Seed = 3 });
        Assert.Equal(5, sampled.CompletionTokens);

        // Usage: one entry per request, totals are the sums of the entries, per user too.
        var log = cluster.Grains.GetGrain<IUsageLogGrain>(0);
        var entries = await log.Recent(100);
        var totals = await log.Totals();
        Assert.Equal(5, entries.Count);
        Assert.Equal((2L, 5L), (totals.Users, totals.Requests));
        Assert.Equal(entries.Sum(e => e.PromptTokens), totals.PromptTokens);
        Assert.Equal(entries.Sum(e => e.CompletionTokens), totals.CompletionTokens);
        Assert.Equal(1 + 8 + 12 + 3 + 2, totals.PromptTokens);
        Assert.Equal(11, totals.CompletionTokens);
        var bob = (await cluster.Grains.GetGrain<IUserGrain>("bob").Get())!;
        Assert.Equal((2L, 5L, 11L), (bob.Requests, bob.PromptTokens, bob.CompletionTokens));
        Assert.All(entries, e => Assert.Equal(3, e.WorkerIds.Count));
        Assert.Equal(5, entries.Select(e => e.RequestId).Distinct().Count());

        // Tokens served: every worker took part in every step; agents report them with their heartbeats.
        var stepTokens = prompts.Sum(p => p.Length) + (3 + 5) + (2 + 4); // first step counts the prompt, later steps one token
        foreach (var id in new[] { "third-1", "third-2", "third-3" })
            await Eventually.Until(() => cluster.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView(), v => v.TokensServed == stepTokens, Patience, $"{id} reports {stepTokens} tokens");
    }

    [Fact]
    public async Task A_worker_killed_in_the_middle_of_generation_is_replaced_and_the_request_is_counted_once()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        await using var fleet = new AgentFleet(cluster);
        // Four agents with room for two blocks each: three tile the model, the fourth replicates blocks 0-1.
        var agents = await StartServing(cluster, fleet, ["k-a", "k-b", "k-c", "k-d"], blocksEach: 2, delay: TimeSpan.FromMilliseconds(40));
        var plan = await cluster.Grains.GetGrain<ILayerMapGrain>(0).GetView();
        Assert.Equal([2, 2, 1, 1, 1, 1], plan.Replicas);
        var replicated = plan.Assignments.Where(a => a.Value.Start == 0).Select(a => a.Key).Order().ToList();
        var victim = agents.Single(a => a.Id == replicated[0]);
        await cluster.Grains.GetGrain<IUserGrain>("carol").Register("Carol");

        var generation = cluster.Grains.GetGrain<IInferenceGrain>(0).Generate(new GenerationRequest { UserId = "carol", PromptTokens = [7, 7, 7], MaxNewTokens = 40 });
        await Eventually.Until(() => Task.FromResult(victim.Session.Serving.TokensServedTotal), t => t > 3, Patience, "the victim has served a few steps");
        await victim.KillAsync();
        var result = await generation;

        Assert.Equal(40, result.CompletionTokens);
        Assert.True(result.Retries >= 1, "the killed worker's hop was retried");
        Assert.Contains(replicated[1], result.WorkerIds);
        var carol = (await cluster.Grains.GetGrain<IUserGrain>("carol").Get())!;
        Assert.Equal((1L, 3L, 40L), (carol.Requests, carol.PromptTokens, carol.CompletionTokens));
        var entry = Assert.Single(await cluster.Grains.GetGrain<IUsageLogGrain>(0).Recent(10));
        Assert.Equal(result.RequestId, entry.RequestId);
    }
}
