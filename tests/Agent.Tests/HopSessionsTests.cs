using Regatta.Learning.Models.Hf;
using Regatta.WorkerAgent;

namespace Regatta.Tests;

public sealed class HopSessionsTests
{
    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Sessions_reserve_their_cache_a_full_budget_refuses_new_ones_and_idle_ones_expire()
    {
        var clock = new Clock();
        using var sessions = new HopSessions(budgetBytes: 1000, idle: TimeSpan.FromSeconds(60), clock);
        var a = sessions.Open("a", 600, () => new KvCache(2));
        Assert.Same(a, sessions.Open("a", 600, () => throw new InvalidOperationException("an open session is not created again")));
        Assert.Equal("busy", Assert.Throws<RegattaException>(() => sessions.Open("b", 500, () => new KvCache(2))).Code);
        sessions.Open("c", 400, () => new KvCache(2));
        Assert.Equal((2, 1000L), (sessions.Count, sessions.ReservedBytes));

        sessions.Close("c");
        clock.Now += TimeSpan.FromSeconds(45);
        sessions.Open("a", 600, () => new KvCache(2)); // used: its idle time starts again
        sessions.Open("b", 400, () => new KvCache(2));
        clock.Now += TimeSpan.FromSeconds(50);
        sessions.Open("a", 600, () => new KvCache(2));
        clock.Now += TimeSpan.FromSeconds(20); // b idle 70 s, a 20 s
        Assert.Equal(1, sessions.Expire());
        Assert.True(sessions.Contains("a"));
        Assert.False(sessions.Contains("b"));
    }
}
