using System.Globalization;
using System.Text.Json;
using Regatta.Learning.Training;
using Regatta.Runs;

namespace Regatta.WorkerAgent;

/// <summary>
/// Operator commands over the silo's REST API (never as an Orleans client): submit a YAML spec, and watch a run to its
/// end. Exit codes: 0 done (watch: the run finished), 1 refused by the API or the run did not finish, 2 invalid flags
/// or spec, 3 no or wrong admin API key, 4 the API cannot be reached.
/// </summary>
public static class RunCommands
{
    /// <summary>Consecutive failed polls <see cref="WatchAsync"/> rides out (a silo restarting) before it gives up.</summary>
    public const int WatchRetries = 30;

    public static async Task<int> SubmitAsync(Uri api, AdminKey? key, string runId, string specPath, bool start, TextWriter output,
        TextWriter error, CancellationToken ct)
    {
        if (key is null)
        {
            await error.WriteLineAsync("submit needs the admin API key: pass --api-key-file FILE or set env REGATTA_ADMIN_KEY " +
                                       $"(a local silo writes its key to {AdminKey.LocalSiloFile})");
            return 3;
        }
        string yaml;
        try
        {
            yaml = await File.ReadAllTextAsync(specPath, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"{specPath}: {e.Message}");
            return 2;
        }
        using var client = new ApiClient(api, key);
        RunStatusDto view;
        try
        {
            view = await client.PostAsync<RunStatusDto>($"api/runs?id={Uri.EscapeDataString(runId)}", ApiClient.Yaml(yaml), ct);
        }
        catch (ApiCallException e)
        {
            // A refused spec names each field at fault; print them against the file.
            var prefix = e.Status is 400 or 413 or 415 ? specPath : $"run {runId}";
            foreach (var message in e.Messages) await error.WriteLineAsync($"{prefix}: {message}");
            return e.ExitCode;
        }
        if (start)
        {
            try
            {
                view = await client.PostAsync<RunStatusDto>($"api/runs/{Uri.EscapeDataString(runId)}/start", null, ct);
            }
            catch (ApiCallException e)
            {
                foreach (var message in e.Messages) await error.WriteLineAsync($"run {runId} was created but not started: {message}");
                return e.ExitCode;
            }
        }
        await output.WriteLineAsync($"run {runId}: {view.State}");
        return 0;
    }

    /// <summary>
    /// Prints each committed round as it lands; the last line is one JSON object with the outcome. With
    /// <paramref name="baselines"/>, a finished run is also measured against training without federation (<see cref="Baselines"/>).
    /// </summary>
    public static async Task<int> WatchAsync(Uri api, AdminKey? key, string runId, TextWriter output, TextWriter error, CancellationToken ct,
        TimeSpan? interval = null, bool baselines = false)
    {
        using var client = new ApiClient(api, key);
        var run = Uri.EscapeDataString(runId);
        var printed = 0;
        var failures = 0;
        RunState? lastState = null;
        while (true)
        {
            RunStatusDto view;
            List<RoundStatusDto> rounds;
            try
            {
                view = await client.GetAsync<RunStatusDto>($"api/runs/{run}", ct);
                rounds = await client.GetAsync<List<RoundStatusDto>>($"api/runs/{run}/rounds", ct);
                failures = 0;
            }
            catch (ApiCallException e) when (lastState is not null && (e.Status is null or >= 500 or 429) && ++failures <= WatchRetries)
            {
                if (failures == 1) await error.WriteLineAsync($"run {runId}: {e.Message}; retrying");
                await Task.Delay(interval ?? TimeSpan.FromSeconds(1), ct);
                continue;
            }
            catch (ApiCallException e)
            {
                foreach (var message in e.Messages) await error.WriteLineAsync($"run {runId}: {message}");
                return e.ExitCode;
            }
            if (view.State != lastState)
            {
                await output.WriteLineAsync($"[{DateTime.Now:HH:mm:ss}] {runId}: {view.State} (round {view.Round}, {view.Members.Count(m => m.Status == MemberStatus.Active)} members)");
                lastState = view.State;
            }
            foreach (var r in rounds.Skip(printed))
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"[{DateTime.Now:HH:mm:ss}] round {r.Round,3}: accuracy {Nan(r.ValidationAccuracy):F3}  loss {Nan(r.ValidationLoss):F4}  train loss {Nan(r.TrainLoss):F4}  witnesses {Nan(r.WitnessAccuracy):F3}  updates {r.UpdatesAccepted}/{r.UpdatesAccepted + r.UpdatesRefused}  {(r.EndedAt - r.StartedAt).TotalSeconds:F1}s{(r.Epsilon is { } eps ? $"  ε {eps:F3}" : "")}"));
            printed = Math.Max(printed, rounds.Count);
            if (view.State.IsTerminal())
            {
                var measured = baselines && view.State == RunState.Finished ? await MeasureBaselines(view, output, error, ct) : null;
                var summary = new Dictionary<string, object?>
                {
                    ["run"] = runId,
                    ["state"] = view.State.ToString(),
                    ["rounds"] = view.CommittedRounds,
                    ["initial_accuracy"] = Round(view.InitialAccuracy),
                    ["accuracy"] = Round(view.Accuracy),
                    ["local_only_accuracy"] = measured is null ? null : Round(measured.LocalOnlyMean),
                    ["local_only_best"] = measured is null ? null : Round(measured.LocalOnlyBest),
                    ["centralized_accuracy"] = measured is null ? null : Round(measured.Centralized),
                    ["loss"] = Round(view.Loss),
                    ["time"] = RunSeconds(view),
                };
                if (view.Epsilon is { } spent) summary["epsilon"] = Round(spent); // differential privacy: ε spent at the spec's δ
                await output.WriteLineAsync(JsonSerializer.Serialize(summary));
                return view.State == RunState.Finished ? 0 : 1;
            }
            await Task.Delay(interval ?? TimeSpan.FromSeconds(1), ct);
        }
    }

    /// <summary>Trains the baselines of a finished run on this machine; null (and a line saying why) when they cannot be.</summary>
    private static async Task<BaselineResult?> MeasureBaselines(RunStatusDto view, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (view.Spec is not { } spec || view.CommittedRounds < 1)
        {
            await error.WriteLineAsync($"run {view.RunId}: no spec or no committed round; baselines not measured");
            return null;
        }
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"[{DateTime.Now:HH:mm:ss}] baselines: {spec.Data.Partitions} members alone and all partitions pooled, {view.CommittedRounds} rounds of local training each..."));
        try
        {
            // Small models: one intra-op thread each, and as many models training at once as there are cores.
            TorchSharp.torch.set_num_threads(1);
            var result = await Task.Run(() => Baselines.Measure(spec.ToSpec(), view.CommittedRounds, parallelism: Environment.ProcessorCount, ct: ct), ct);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"[{DateTime.Now:HH:mm:ss}] baselines on the coordinator's validation set: local only {string.Join(" ", result.LocalOnly.Select(a => a.ToString("F3", CultureInfo.InvariantCulture)))} (mean {result.LocalOnlyMean:F3}), centralised {result.Centralized:F3}, initial {result.InitialAccuracy:F3} ({result.Took.TotalSeconds:F1}s)"));
            return result;
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException)
        {
            // A file source lives on the silo's machine, not necessarily on this one.
            await error.WriteLineAsync($"run {view.RunId}: baselines not measured: {e.Message}");
            return null;
        }
    }

    /// <summary>Seconds from the run's start to its end, from its timeline.</summary>
    private static double? RunSeconds(RunStatusDto view)
    {
        if (view.Timeline is not { Count: > 0 } timeline) return null;
        var started = timeline.FirstOrDefault(t => t.From == RunState.Created)?.At ?? timeline[0].At;
        return Math.Round((timeline[^1].At - started).TotalSeconds, 1);
    }

    /// <summary>The API writes numbers that are not finite as null; the lines print them as before (NaN).</summary>
    private static double Nan(double? value) => value ?? double.NaN;

    private static double? Round(double? value) => value is { } v && double.IsFinite(v) ? Math.Round(v, 4) : null;
}
