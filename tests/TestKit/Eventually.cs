namespace Regatta.Tests;

public static class Eventually
{
    /// <summary>Polls until the condition holds; the timeout only bounds a failure.</summary>
    /// <param name="ridesOutSiloLoss">Probes that fail because a silo went away (Orleans transport errors, timeouts) count as "not yet".</param>
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan? timeout = null, string? what = null,
        bool ridesOutSiloLoss = false)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        T value = default!;
        Exception? last = null;
        while (true)
        {
            try
            {
                if (condition(value = await probe())) return value;
                last = null;
            }
            catch (Exception e) when (ridesOutSiloLoss && e is OrleansException or TimeoutException)
            {
                last = e;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"condition not met{(what is null ? "" : ": " + what)}; last value: {(last is null ? value : last.Message)}");
            await Task.Delay(50);
        }
    }
}
