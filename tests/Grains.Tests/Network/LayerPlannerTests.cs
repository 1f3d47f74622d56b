using Regatta.Grains.Network;
using Regatta.Network;
using Regatta.Workers;

namespace Regatta.Grains.Tests.Network;

public sealed class LayerPlannerTests
{
    private const long Block = 1000;

    private static PlannerWorker W(string id, double blocks, LayerRange? current = null) => new(id, (long)(blocks * Block), current);

    [Fact]
    public void Three_workers_with_room_for_a_third_each_split_the_model_into_thirds()
    {
        var plan = LayerPlanner.Plan(6, Block, 1, [W("a", 2), W("b", 2.5), W("c", 2)]);

        Assert.Equal(new LayerRange(0, 2), plan.Assignments["a"]);
        Assert.Equal(new LayerRange(2, 4), plan.Assignments["b"]);
        Assert.Equal(new LayerRange(4, 6), plan.Assignments["c"]);
        Assert.Equal([1, 1, 1, 1, 1, 1], plan.Replicas);
        Assert.True(plan.Ready);
        Assert.Equal(100, plan.CoveragePercent);
    }

    [Fact]
    public void Too_little_capacity_reports_partial_coverage_and_how_many_workers_are_needed()
    {
        var plan = LayerPlanner.Plan(8, Block, 2, [W("a", 3), W("tiny", 0.5)]);

        Assert.Equal(new LayerRange(0, 3), plan.Assignments["a"]);
        Assert.Contains("one block needs 1000", plan.Standby["tiny"]);
        Assert.False(plan.Ready);
        Assert.Equal(37.5, plan.CoveragePercent);
        Assert.Equal(6, plan.RecommendedWorkers); // 8 blocks × 2 replicas / 3 blocks per worker
    }

    [Fact]
    public void Extra_workers_go_to_the_weakest_blocks_until_every_block_has_the_same_replication()
    {
        var plan = LayerPlanner.Plan(6, Block, 2, [W("a", 2), W("b", 2), W("c", 2), W("d", 2), W("e", 2), W("f", 2)]);

        Assert.Equal([2, 2, 2, 2, 2, 2], plan.Replicas);
        Assert.Equal(2, plan.WeakestReplicas);
    }

    [Fact]
    public void A_worker_never_gets_more_blocks_than_the_model_has()
    {
        var plan = LayerPlanner.Plan(4, Block, 1, [W("big", 100)]);
        Assert.Equal(new LayerRange(0, 4), plan.Assignments["big"]);
    }

    [Fact]
    public void A_joining_worker_leaves_the_others_where_they_are()
    {
        var first = LayerPlanner.Plan(6, Block, 1, [W("a", 2), W("b", 2), W("c", 2)]);
        var workers = first.Assignments.Select(a => W(a.Key, 2, a.Value)).Append(W("d", 3)).ToList();

        var second = LayerPlanner.Plan(6, Block, 1, workers);

        foreach (var id in new[] { "a", "b", "c" }) Assert.Equal(first.Assignments[id], second.Assignments[id]);
        Assert.Equal(3, second.Assignments["d"].Count);
        Assert.True(second.Ready);
    }

    [Fact]
    public void When_a_worker_leaves_a_gap_the_others_are_moved_to_cover_it()
    {
        // a and b held [0,3) and [3,6); b goes offline; c and d stayed on [0,3) as replicas.
        var plan = LayerPlanner.Plan(6, Block, 1,
            [W("a", 3, new(0, 3)), W("c", 3, new(0, 3)), W("d", 3, new(0, 3))]);

        Assert.True(plan.Ready, string.Join(",", plan.Replicas));
        Assert.True(plan.WeakestReplicas >= 1);
    }

    [Fact]
    public void A_quantization_mode_with_fewer_bytes_per_parameter_fits_more_blocks_per_worker()
    {
        const long parameters = 50_000;
        var memory = 3 * parameters * 4 + 1; // three float32 blocks
        long BytesPerBlock(string mode) => (long)Math.Ceiling(parameters * NetworkLimits.BytesPerParameter(mode));

        Assert.Equal(3, LayerPlanner.Plan(12, BytesPerBlock("none"), 1, [new PlannerWorker("a", memory)]).Assignments["a"].Count);
        Assert.Equal(6, LayerPlanner.Plan(12, BytesPerBlock("bfloat16"), 1, [new PlannerWorker("a", memory)]).Assignments["a"].Count);
        // No integer kernels yet: agents hold int8/nf4 blocks as float32, so the plan does not count on savings it would not get.
        Assert.Equal(3, LayerPlanner.Plan(12, BytesPerBlock("int8"), 1, [new PlannerWorker("a", memory)]).Assignments["a"].Count);
        Assert.Equal(3, LayerPlanner.Plan(12, BytesPerBlock("nf4"), 1, [new PlannerWorker("a", memory)]).Assignments["a"].Count);
        Assert.Equal(2.0, NetworkLimits.BytesPerParameter("int8", "bfloat16"));
        Assert.Equal(2.0, NetworkLimits.BytesPerParameter("none", "float16"));
        Assert.Equal(4.0, NetworkLimits.BytesPerParameter("float32", "float16"));
        Assert.Throws<RegattaException>(() => NetworkLimits.BytesPerParameter("int3"));
    }

    [Fact]
    public void Whenever_the_workers_together_can_hold_the_model_every_block_is_covered()
    {
        var random = new Random(1234);
        for (var trial = 0; trial < 2000; trial++)
        {
            var blocks = random.Next(1, 40);
            var workers = Enumerable.Range(0, random.Next(1, 12)).Select(i =>
            {
                var capacity = random.Next(0, blocks + 2);
                LayerRange? current = null;
                if (random.Next(3) == 0 && capacity > 0)
                {
                    var length = Math.Min(capacity, blocks);
                    var start = random.Next(0, blocks - length + 1);
                    current = new LayerRange(start, start + length);
                }
                return W($"w{i}", capacity + random.NextDouble() * 0.9, current);
            }).ToList();
            var total = workers.Sum(w => Math.Min(blocks, w.MemoryBytes / Block));

            var plan = LayerPlanner.Plan(blocks, Block, random.Next(1, 4), workers);

            Assert.Equal(total >= blocks, plan.Ready);
            foreach (var (id, range) in plan.Assignments)
            {
                Assert.InRange(range.Start, 0, blocks - 1);
                Assert.InRange(range.End, range.Start + 1, blocks);
                Assert.Equal(Math.Min(blocks, workers.Single(w => w.WorkerId == id).MemoryBytes / Block), range.Count);
            }
            Assert.Equal(workers.Count, plan.Assignments.Count + plan.Standby.Count);
        }
    }

    [Fact]
    public void No_workers_no_coverage()
    {
        var plan = LayerPlanner.Plan(8, Block, 1, []);
        Assert.False(plan.Ready);
        Assert.Equal(0, plan.Covered);
        Assert.Equal(1, plan.RecommendedWorkers);
    }
}
