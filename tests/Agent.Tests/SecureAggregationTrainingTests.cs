using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Regatta.Jobs;
using Regatta.Learning.Weights;
using Regatta.Runs;

namespace Regatta.Tests;

/// <summary>
/// Secure aggregation end to end: real agents mask their updates and exchange the protocol's messages through their
/// own worker grains; the coordinator learns only the sum. Each agent's clean vector (weight × update, then the weight)
/// is seen through the agent's test seam just before masking, so the test can compute the plain FedAvg the run should
/// have reached, and look for those bytes in everything the coordinator stored.
/// </summary>
public sealed class SecureAggregationTrainingTests
{
    private static RunSpec Spec(string token, int members, int threshold, int rounds = 1, int attempts = 3) => new()
    {
        Name = "secagg",
        Model = new ModelSpec { Name = "mlp", Parameters = new() { ["inputs"] = 16, ["hidden"] = 32, ["classes"] = 10 } },
        Data = new DataSpec { Source = "blobs", Partitioning = "iid", Partitions = members, SamplesPerClient = 200, ValidationSamples = 500 },
        Training = new TrainingSpec { LocalEpochs = 1, BatchSize = 32, LearningRate = 0.1 },
        Rounds = rounds,
        MinClients = members,
        MinUpdates = 1,
        MaxRoundAttempts = attempts,
        Warmup = TimeSpan.FromMilliseconds(500),
        RoundDeadline = TimeSpan.FromSeconds(90),
        WitnessDeadline = TimeSpan.FromSeconds(60),
        Witnesses = new WitnessSpec { Count = 1, Quorum = 1, LossTolerance = 100 },
        Aggregation = new AggregationSpec { Strategy = AggregationStrategy.FedAvg },
        Seed = 5,
        JoinToken = token,
        Privacy = new PrivacySpec { SecureAggregation = true, SecAggThreshold = threshold, SecAggRange = 4, SecAggPhaseTimeout = TimeSpan.FromSeconds(30) },
    };

    private sealed record Outcome(RunView End, string InitialModel, List<RoundRecord> Rounds, List<RunReport> Reports, IReadOnlyDictionary<string, float[]> Vectors);

    private static async Task<Outcome> Train(RegattaCluster cluster, string runId, RunSpec spec, Func<int, string?>? poison = null)
    {
        var vectors = new ConcurrentDictionary<string, float[]>();
        await using var fleet = new AgentFleet(cluster);
        var run = cluster.Grains.GetGrain<IRunGrain>(runId);
        await run.Create(spec);
        var started = await run.Start();
        for (var i = 1; i <= spec.MinClients; i++)
            await fleet.StartAsync($"{runId}-agent-{i}", runId, spec.JoinToken, poison?.Invoke(i), secAggObserver: (job, v) => vectors[job] = v);
        var end = await Eventually.Until(run.GetView, v => v.State.IsTerminal(), TimeSpan.FromMinutes(5), "run ends");
        return new Outcome(end, started.GlobalModelHash!, await run.GetRounds(), await run.GetReports(), vectors);
    }

    private static Regatta.Grains.Models.BlobStore Store(RegattaCluster cluster) =>
        new(Microsoft.Extensions.Options.Options.Create(new Regatta.Grains.CoordinatorOptions { DataDir = cluster.DataDir }));

    /// <summary>The vectors of the round's members whose train job closed as accepted into the secure aggregate.</summary>
    private static async Task<List<float[]>> Summed(RegattaCluster cluster, Outcome o, int round)
    {
        var summed = new List<float[]>();
        foreach (var (jobId, vector) in o.Vectors)
        {
            var job = await cluster.Grains.GetGrain<IJobGrain>(jobId).Get();
            if (job is { Round: var r, Attempt: var a, Result: JobResult.Success } && r == round && a == o.Rounds[round - 1].Attempts) summed.Add(vector);
        }
        return summed;
    }

    /// <summary>Candidate − previous global equals Σ (w·u) / Σ w of the summed vectors, within fixed-point and float rounding.</summary>
    private static async Task AssertPlainFedAvg(RegattaCluster cluster, string before, string after, List<float[]> vectors)
    {
        var store = Store(cluster);
        var previous = ModelWeights.FromBytes(await store.ReadAllAsync(before)).Flatten();
        var candidate = ModelWeights.FromBytes(await store.ReadAllAsync(after)).Flatten();
        var length = previous.Length;
        Assert.All(vectors, v => Assert.Equal(length + 1, v.Length));
        var weight = vectors.Sum(v => (double)v[length]);
        var largest = 0.0;
        for (var i = 0; i < length; i++)
        {
            var mean = vectors.Sum(v => (double)v[i]) / weight;
            largest = Math.Max(largest, Math.Abs(mean));
            Assert.True(Math.Abs(candidate[i] - previous[i] - mean) < 2e-5, $"value {i}: candidate moved {candidate[i] - previous[i]}, plain FedAvg {mean}");
        }
        Assert.True(largest > 1e-3, $"the round moved the model by at most {largest}: nothing was learned, so nothing was compared");
    }

    /// <summary>16-byte windows (4 float32 values) of a member's clean update, skipping windows holding a zero.</summary>
    private static HashSet<(ulong, ulong)> Windows(IEnumerable<float[]> vectors)
    {
        var windows = new HashSet<(ulong, ulong)>();
        foreach (var v in vectors)
        {
            var bytes = MemoryMarshal.AsBytes(v.AsSpan(0, v.Length - 1));
            for (var i = 0; i + 16 <= bytes.Length; i += 4)
            {
                if (v[i / 4] == 0 || v[i / 4 + 1] == 0 || v[i / 4 + 2] == 0 || v[i / 4 + 3] == 0) continue;
                windows.Add((BitConverter.ToUInt64(bytes.Slice(i, 8)), BitConverter.ToUInt64(bytes.Slice(i + 8, 8))));
            }
        }
        return windows;
    }

    private static bool Contains(ReadOnlySpan<byte> data, HashSet<(ulong, ulong)> windows)
    {
        for (var i = 0; i + 16 <= data.Length; i++)
            if (windows.Contains((BitConverter.ToUInt64(data.Slice(i, 8)), BitConverter.ToUInt64(data.Slice(i + 8, 8))))) return true;
        return false;
    }

    /// <summary>Every file the coordinator stored (grain state in SQLite, its journal, model blobs), the agents' own caches aside.</summary>
    private static void AssertStoredNowhere(RegattaCluster cluster, IEnumerable<float[]> vectors)
    {
        var windows = Windows(vectors);
        Assert.NotEmpty(windows);
        // The scan finds what is there: a member's vector itself is found.
        Assert.True(Contains(MemoryMarshal.AsBytes(vectors.First().AsSpan()), windows));
        var agents = Path.Combine(cluster.DataDir, "agents") + Path.DirectorySeparatorChar;
        var files = Directory.EnumerateFiles(cluster.DataDir, "*", SearchOption.AllDirectories).Where(f => !f.StartsWith(agents, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            byte[] bytes;
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                bytes = copy.ToArray();
            }
            Assert.False(Contains(bytes, windows), $"{Path.GetRelativePath(cluster.DataDir, file)} holds bytes of a member's clean update");
        }
    }

    [Fact]
    public async Task A_secure_round_reaches_the_plain_fedavg_of_the_members_updates_and_stores_none_of_them()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var o = await Train(cluster, "secagg-plain", Spec("secagg-plain-token", members: 3, threshold: 2, rounds: 2));

        Assert.Equal(RunState.Finished, o.End.State);
        Assert.Equal(2, o.Rounds.Count);
        Assert.All(o.Rounds, r => Assert.Equal(3, r.UpdatesAccepted));
        await AssertPlainFedAvg(cluster, o.InitialModel, o.Rounds[0].ModelHash!, await Summed(cluster, o, 1));
        await AssertPlainFedAvg(cluster, o.Rounds[0].ModelHash!, o.Rounds[1].ModelHash!, await Summed(cluster, o, 2));
        // The coordinator kept no update: no blob was uploaded by a train job, and no stored byte is a member's.
        var jobs = await cluster.Grains.GetGrain<IJobHistoryGrain>(JobHistoryKeys.ForRun("secagg-plain")).GetPage(0, 200);
        var trainJobs = jobs.Items.Where(j => j.Kind == JobKind.Train).ToList();
        Assert.Equal(6, trainJobs.Count);
        foreach (var j in trainJobs) Assert.Null((await cluster.Grains.GetGrain<IJobGrain>(j.JobId).Get())!.OutputHash);
        AssertStoredNowhere(cluster, o.Vectors.Values);
    }

    [Fact]
    public async Task A_member_dropping_out_after_sharing_its_keys_leaves_the_round_to_the_t_survivors()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var o = await Train(cluster, "secagg-drop", Spec("secagg-drop-token", members: 4, threshold: 3),
            poison: i => i == 4 ? "secagg-drop-after-share" : null);

        Assert.Equal(RunState.Finished, o.End.State);
        var round = Assert.Single(o.Rounds);
        Assert.Equal(1, round.Attempts);
        Assert.Equal(3, round.UpdatesAccepted);
        var survivors = await Summed(cluster, o, 1);
        Assert.Equal(3, survivors.Count);
        // The dropout's pairwise masks were in the survivors' inputs; they came off through its key's shares.
        await AssertPlainFedAvg(cluster, o.InitialModel, round.ModelHash!, survivors);
        AssertStoredNowhere(cluster, o.Vectors.Values);
    }

    [Fact]
    public async Task Fewer_than_t_survivors_fail_the_attempt_cleanly_and_the_round_is_retried()
    {
        await using var cluster = await RegattaCluster.StartAsync();
        var o = await Train(cluster, "secagg-few", Spec("secagg-few-token", members: 3, threshold: 3),
            poison: i => i == 3 ? "secagg-drop-after-share-once" : null);

        Assert.Equal(RunState.Finished, o.End.State);
        var round = Assert.Single(o.Rounds);
        Assert.Equal(2, round.Attempts);
        Assert.Equal(3, round.UpdatesAccepted);
        Assert.Contains(o.Reports, r => r.Message.StartsWith("round 1 attempt 1 failed: secure aggregation: 2 of 3 members sent a masked input, fewer than the threshold 3", StringComparison.Ordinal));
        await AssertPlainFedAvg(cluster, o.InitialModel, round.ModelHash!, await Summed(cluster, o, 1));
    }
}
