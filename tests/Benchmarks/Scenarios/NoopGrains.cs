using System.Diagnostics;
using Regatta.Grains;

namespace Regatta.Benchmarks.Scenarios;

// Benchmark-only grains: the baselines of the system scenarios. Each does the least a grain can do for the same
// message, so the ratio against them is what Regatta's own logic and storage add.

/// <summary>Answers at once: the baseline of a heartbeat.</summary>
[Alias("bench.INoopGrain")]
public interface INoopGrain : IGrainWithStringKey
{
    [Alias("Ping")] Task Ping();
}

public sealed class NoopGrain : Grain, INoopGrain
{
    public Task Ping() => Task.CompletedTask;
}

/// <summary>Writes one small record to Regatta's store once: the baseline of a registration.</summary>
[Alias("bench.IStoredNoopGrain")]
public interface IStoredNoopGrain : IGrainWithStringKey
{
    [Alias("Touch")] Task Touch(string name);
}

[GenerateSerializer, Alias("bench.StoredNoop")]
public sealed class StoredNoop
{
    [Id(0)] public string Name { get; set; } = "";
    [Id(1)] public DateTimeOffset At { get; set; }
}

public sealed class StoredNoopGrain([PersistentState("noop", StoreNames.Regatta)] IPersistentState<StoredNoop> state) : Grain, IStoredNoopGrain
{
    public async Task Touch(string name)
    {
        state.State.Name = name;
        state.State.At = DateTimeOffset.UtcNow;
        await state.WriteStateAsync();
    }
}

/// <summary>Sends one no-op message to each of N grains and waits for all answers: the baseline of a round opening.</summary>
[Alias("bench.INoopFanoutGrain")]
public interface INoopFanoutGrain : IGrainWithStringKey
{
    /// <summary>Returns the time it took inside the grain (the coordinator's own time, as the run's round-open metric).</summary>
    [Alias("Fanout")] Task<TimeSpan> Fanout(string prefix, int count);
}

public sealed class NoopFanoutGrain : Grain, INoopFanoutGrain
{
    public async Task<TimeSpan> Fanout(string prefix, int count)
    {
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, count).Select(i => GrainFactory.GetGrain<INoopGrain>($"{prefix}-{i}").Ping()));
        return Stopwatch.GetElapsedTime(started);
    }
}
