using System.Collections.Concurrent;
using Orleans.Runtime;

namespace Regatta.Storage.Tests;

[GenerateSerializer, Alias("Regatta.Storage.Tests.CounterState")]
public sealed record CounterState
{
    [Id(0)] public string Label { get; init; } = "";
    [Id(1)] public int Count { get; init; }
    [Id(2)] public DateTime UpdatedAt { get; init; }
    [Id(3)] public string[] Tags { get; init; } = [];
}

/// <summary>What a grain saw of its persistent state after an operation.</summary>
[GenerateSerializer, Alias("Regatta.Storage.Tests.StateSnapshot")]
public sealed record StateSnapshot(
    [property: Id(0)] CounterState State,
    [property: Id(1)] string? ETag,
    [property: Id(2)] bool RecordExists,
    [property: Id(3)] string Host);

[Alias("Regatta.Storage.Tests.ICounterGrain")]
public interface ICounterGrain : IGrainWithStringKey
{
    [Alias("Get")] Task<StateSnapshot> Get();
    [Alias("Set")] Task<StateSnapshot> Set(CounterState state);
    [Alias("Clear")] Task<StateSnapshot> Clear();
    [Alias("Reload")] Task<StateSnapshot> Reload();
}

/// <summary>A second grain type that uses the same state name ("counter") as <see cref="ICounterGrain"/>.</summary>
[Alias("Regatta.Storage.Tests.IOtherCounterGrain")]
public interface IOtherCounterGrain : IGrainWithStringKey
{
    [Alias("Get")] Task<StateSnapshot> Get();
    [Alias("Set")] Task<StateSnapshot> Set(CounterState state);
}

[Alias("Regatta.Storage.Tests.IDefaultStorageGrain")]
public interface IDefaultStorageGrain : IGrainWithStringKey
{
    [Alias("Get")] Task<StateSnapshot> Get();
    [Alias("Set")] Task<StateSnapshot> Set(CounterState state);
}

[Alias("Regatta.Storage.Tests.IReminderProbeGrain")]
public interface IReminderProbeGrain : IGrainWithStringKey
{
    [Alias("Register")] Task Register(TimeSpan dueTime, TimeSpan period);
    [Alias("Unregister")] Task Unregister();
}

/// <summary>Names the host a grain runs in, so a test can tell which silo did something.</summary>
public sealed record HostMarker(string Name);

public sealed class CounterGrain(
    [PersistentState("counter", StorageNames.Regatta)] IPersistentState<CounterState> state,
    HostMarker host) : Grain, ICounterGrain
{
    public Task<StateSnapshot> Get() => Task.FromResult(Snapshot());

    public async Task<StateSnapshot> Set(CounterState value)
    {
        state.State = value;
        await state.WriteStateAsync();
        return Snapshot();
    }

    public async Task<StateSnapshot> Clear()
    {
        await state.ClearStateAsync();
        return Snapshot();
    }

    public async Task<StateSnapshot> Reload()
    {
        await state.ReadStateAsync();
        return Snapshot();
    }

    private StateSnapshot Snapshot() => new(state.State, state.Etag, state.RecordExists, host.Name);
}

public sealed class OtherCounterGrain(
    [PersistentState("counter", StorageNames.Regatta)] IPersistentState<CounterState> state,
    HostMarker host) : Grain, IOtherCounterGrain
{
    public Task<StateSnapshot> Get() => Task.FromResult(new StateSnapshot(state.State, state.Etag, state.RecordExists, host.Name));

    public async Task<StateSnapshot> Set(CounterState value)
    {
        state.State = value;
        await state.WriteStateAsync();
        return new StateSnapshot(state.State, state.Etag, state.RecordExists, host.Name);
    }
}

/// <summary>Uses <c>[PersistentState]</c> without a storage name: Orleans' "Default" storage.</summary>
public sealed class DefaultStorageGrain(
    [PersistentState("default-counter")] IPersistentState<CounterState> state,
    HostMarker host) : Grain, IDefaultStorageGrain
{
    public Task<StateSnapshot> Get() => Task.FromResult(new StateSnapshot(state.State, state.Etag, state.RecordExists, host.Name));

    public async Task<StateSnapshot> Set(CounterState value)
    {
        state.State = value;
        await state.WriteStateAsync();
        return new StateSnapshot(state.State, state.Etag, state.RecordExists, host.Name);
    }
}

public sealed class ReminderProbeGrain(HostMarker host) : Grain, IReminderProbeGrain, IRemindable
{
    public const string ReminderName = "probe";

    public Task Register(TimeSpan dueTime, TimeSpan period) => this.RegisterOrUpdateReminder(ReminderName, dueTime, period);

    public async Task Unregister()
    {
        var reminder = await this.GetReminder(ReminderName);
        if (reminder is not null)
            await this.UnregisterReminder(reminder);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        ReminderProbe.Signal(this.GetPrimaryKeyString(), host.Name, reminderName);
        return Task.CompletedTask;
    }
}

/// <summary>Lets a test await "grain X received a reminder while running in host H".</summary>
public static class ReminderProbe
{
    private static readonly ConcurrentDictionary<(string Grain, string Host), TaskCompletionSource<string>> Fired = new();

    public static Task<string> WhenFired(string grainKey, string hostName) => Get(grainKey, hostName).Task;

    public static void Signal(string grainKey, string hostName, string reminderName) => Get(grainKey, hostName).TrySetResult(reminderName);

    private static TaskCompletionSource<string> Get(string grainKey, string hostName)
        => Fired.GetOrAdd((grainKey, hostName), _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));
}
