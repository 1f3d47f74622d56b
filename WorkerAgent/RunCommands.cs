using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Regatta.Runs;

namespace Regatta.WorkerAgent;

/// <summary>Operator commands over the Orleans client: submit a YAML spec, and watch a run to its end.</summary>
public static class RunCommands
{
    public static async Task<int> SubmitAsync(AgentOptions client, string runId, string specPath, bool start, CancellationToken ct)
    {
        RunSpec spec;
        try
        {
            spec = RunSpecYaml.Parse(await File.ReadAllTextAsync(specPath, ct));
        }
        catch (Exception e) when (e is RunSpecException or IOException)
        {
            Console.Error.WriteLine($"{specPath}: {e.Message}");
            return 2;
        }
        using var host = AgentHost.Build(client, _ => { });
        await host.StartAsync(ct);
        var run = host.Services.GetRequiredService<IClusterClient>().GetGrain<IRunGrain>(runId);
        try
        {
            var view = await run.Create(spec);
            if (start) view = await run.Start();
            Console.WriteLine($"run {runId}: {view.State}");
            return 0;
        }
        catch (RunSpecException e)
        {
            foreach (var error in e.Errors) Console.Error.WriteLine($"{specPath}: {error}");
            return 2;
        }
        catch (RegattaException e)
        {
            Console.Error.WriteLine($"run {runId}: {e.Message}");
            return 1;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Prints each committed round as it lands; the last line is one JSON object with the outcome.</summary>
    public static async Task<int> WatchAsync(AgentOptions client, string runId, CancellationToken ct)
    {
        using var host = AgentHost.Build(client, _ => { });
        await host.StartAsync(ct);
        var run = host.Services.GetRequiredService<IClusterClient>().GetGrain<IRunGrain>(runId);
        var printed = 0;
        RunState? lastState = null;
        try
        {
            while (true)
            {
                var view = await run.GetView();
                if (view.State != lastState)
                {
                    Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {runId}: {view.State} (round {view.Round}, {view.Members.Count(m => m.Status == MemberStatus.Active)} members)");
                    lastState = view.State;
                }
                var rounds = await run.GetRounds();
                foreach (var r in rounds.Skip(printed))
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"[{DateTime.Now:HH:mm:ss}] round {r.Round,3}: accuracy {r.ValidationAccuracy:F3}  loss {r.ValidationLoss:F4}  train loss {r.TrainLoss:F4}  witnesses {r.WitnessAccuracy:F3}  updates {r.UpdatesAccepted}/{r.UpdatesAccepted + r.UpdatesRefused}  {(r.EndedAt - r.StartedAt).TotalSeconds:F1}s"));
                printed = rounds.Count;
                if (view.State.IsTerminal())
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        run = runId,
                        state = view.State.ToString(),
                        rounds = view.CommittedRounds,
                        accuracy = Round(view.Accuracy),
                        loss = Round(view.Loss),
                    }));
                    return view.State == RunState.Finished ? 0 : 1;
                }
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static double? Round(double value) => double.IsFinite(value) ? Math.Round(value, 4) : null;

    /// <summary>The client options of an operator command: the gateway and how to trust its silo (TLS), nothing of a worker.</summary>
    public static AgentOptions Options(string coordinator) =>
        new() { Coordinator = coordinator, Name = "cli", WorkerId = "cli", CacheDir = Path.GetTempPath() };
}
