using System.Diagnostics;
using Orleans.Concurrency;
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

/// <summary>
/// One grain awaiting N calls through references it built once, as the run grain holds its members' references: the
/// no-op fan-out (a ping each), and the baseline of a round opening (each member's <see cref="IMailboxGrain.Hold"/>).
/// </summary>
[Alias("bench.IFanoutGrain")]
public interface IFanoutGrain : IGrainWithStringKey
{
    /// <summary>Pings N no-op grains; returns the time it took inside this grain.</summary>
    [Alias("Ping")] Task<TimeSpan> Ping(string prefix, int count);

    /// <summary>Hands <paramref name="job"/> to N mailboxes and awaits each one's durable write; returns the time inside this grain.</summary>
    [Alias("Hold")] Task<TimeSpan> Hold(string prefix, int count, string job);
}

public sealed class FanoutGrain : Grain, IFanoutGrain
{
    private readonly Dictionary<(string, int), INoopGrain[]> _noops = [];
    private readonly Dictionary<(string, int), IMailboxGrain[]> _mailboxes = [];

    public async Task<TimeSpan> Ping(string prefix, int count)
    {
        var targets = References(_noops, prefix, count);
        var started = Stopwatch.GetTimestamp();
        var calls = new Task[count];
        for (var i = 0; i < count; i++) calls[i] = targets[i].Ping();
        await Task.WhenAll(calls);
        return Stopwatch.GetElapsedTime(started);
    }

    public async Task<TimeSpan> Hold(string prefix, int count, string job)
    {
        var targets = References(_mailboxes, prefix, count);
        var started = Stopwatch.GetTimestamp();
        var calls = new Task[count];
        for (var i = 0; i < count; i++) calls[i] = targets[i].Hold(job);
        await Task.WhenAll(calls);
        return Stopwatch.GetElapsedTime(started);
    }

    private T[] References<T>(Dictionary<(string, int), T[]> cache, string prefix, int count) where T : IGrainWithStringKey
    {
        if (cache.TryGetValue((prefix, count), out var cached)) return cached;
        var references = new GrainReferences<T>(GrainFactory);
        return cache[(prefix, count)] = [.. Enumerable.Range(0, count).Select(i => references.Get($"{prefix}-{i}"))];
    }
}

/// <summary>
/// A simulated member's mailbox, the baseline of a worker grain holding a job for its agent: <see cref="Hold"/> stores the
/// job (one durable write, what opening a job needs) and wakes the agent's long-poll <see cref="Next"/>.
/// </summary>
[Alias("bench.IMailboxGrain")]
public interface IMailboxGrain : IGrainWithStringKey
{
    [Alias("Hold")] Task Hold(string job);
    [Alias("Next"), AlwaysInterleave] Task<string?> Next(string after, TimeSpan maxWait);
    /// <summary>Answers once the calls sent before it from the same client have started (the long-poll is waiting).</summary>
    [Alias("Ready")] Task Ready();
}

[GenerateSerializer, Alias("bench.MailboxState")]
public sealed class MailboxState
{
    [Id(0)] public string? Job { get; set; }
}

public sealed class MailboxGrain([PersistentState("mailbox", StoreNames.Regatta)] IPersistentState<MailboxState> state) : Grain, IMailboxGrain
{
    private TaskCompletionSource? _held;

    public async Task Hold(string job)
    {
        state.State.Job = job;
        await state.WriteStateAsync();
        var signal = _held;
        _held = null;
        signal?.TrySetResult();
    }

    public async Task<string?> Next(string after, TimeSpan maxWait)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(maxWait.TotalSeconds * Stopwatch.Frequency);
        while (state.State.Job is null || state.State.Job == after)
        {
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero) return null;
            _held ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await _held.Task.WaitAsync(left).ContinueWith(_ => { }, TaskScheduler.Current);
        }
        return state.State.Job;
    }

    public Task Ready() => Task.CompletedTask;
}
