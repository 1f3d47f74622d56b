using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Regatta.Grains.Privacy;
using Regatta.Runs;
using Regatta.Tests;
using Regatta.WorkerAgent;

namespace Regatta.Api.Tests;

/// <summary>
/// The operator commands (WorkerAgent submit / watch) against a real silo over its REST API with the admin key: no
/// Orleans client. Output and exit codes are what scripts (deploy/local/run-demo.sh) rely on.
/// </summary>
[Collection(KestrelCollection.Name)]
public sealed partial class RunCommandsTests(KestrelApiSilo silo) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("regatta-cli-").FullName;

    [Fact]
    public async Task Submit_then_watch_creates_and_starts_a_run_and_prints_its_rounds_and_a_json_summary()
    {
        var runId = Http.NewId("cli");
        var spec = Write("spec.yaml", RunSpecYaml.Write(Specs.Quick(rounds: 2) with { Name = "cli run" }));
        var key = new AdminKey(ApiSilo.AdminKey, "test");

        var (code, output, error) = await Capture((o, e) => RunCommands.SubmitAsync(silo.Api, key, runId, spec, start: true, o, e, CancellationToken.None));
        Assert.True(code == 0, error);
        Assert.Equal($"run {runId}: {RunState.WaitingForMembers}", output.Trim());
        using var anonymous = silo.Anonymous();
        Assert.Equal("waitingForMembers", (await anonymous.GetAsync($"/api/runs/{runId}").Expect()).Str("state"));

        var (watchOutput, watchError) = await WatchWithTwoWorkers(runId);

        var lines = watchOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Matches($@"^\[\d\d:\d\d:\d\d\] {Regex.Escape(runId)}: WaitingForMembers \(round 0, \d+ members\)$", lines[0]);
        var rounds = lines.Where(l => RoundLine().IsMatch(l)).ToList();
        Assert.Equal(2, rounds.Count);
        Assert.Contains("round   1: accuracy ", rounds[0]);
        Assert.Contains("round   2: accuracy ", rounds[1]);
        var summary = JsonDocument.Parse(lines[^1]).RootElement;
        Assert.Equal(["run", "state", "rounds", "initial_accuracy", "accuracy", "local_only_accuracy", "local_only_best", "centralized_accuracy", "loss", "time"],
            summary.EnumerateObject().Select(p => p.Name));
        Assert.Equal((runId, "Finished", 2), (summary.Str("run"), summary.Str("state"), summary.Int("rounds")));
        // The baselines were trained from the spec the API returned: its partitions, seed and the coordinator's validation set.
        foreach (var number in new[] { "initial_accuracy", "accuracy", "local_only_accuracy", "local_only_best", "centralized_accuracy", "time" })
            Assert.Equal(JsonValueKind.Number, summary.GetProperty(number).ValueKind);
        Assert.Contains(lines, l => l.Contains("baselines on the coordinator's validation set: local only "));
        Assert.Equal("", watchError);
    }

    [Fact]
    public async Task Watch_prints_the_epsilon_each_round_has_spent_for_a_run_with_differential_privacy()
    {
        var runId = Http.NewId("cli-dp");
        // Little noise, so that no noised candidate of this tiny model is refused and retried (each retry is a release too);
        // both updates make the round's one candidate: one release per round.
        var dp = new DpSpec { ClipNorm = 1, NoiseMultiplier = 0.1, Delta = 1e-5 };
        var spec = Write("dp.yaml", RunSpecYaml.Write(Specs.Quick(rounds: 2) with { Name = "dp run", MinUpdates = 2, Privacy = new PrivacySpec { Dp = dp } }));
        var (code, _, error) = await Capture((o, e) => RunCommands.SubmitAsync(silo.Api, new AdminKey(ApiSilo.AdminKey, "test"), runId, spec, start: true, o, e, CancellationToken.None));
        Assert.True(code == 0, error);

        var (watchOutput, watchError) = await WatchWithTwoWorkers(runId);

        var lines = watchOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var rounds = lines.Where(l => l.Contains("] round ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rounds.Count);
        var expected = new[] { 1, 2 }.Select(r => RdpAccountant.Epsilon(RdpAccountant.Compose(1, 0.1, r), 1e-5)).ToList();
        Assert.EndsWith(string.Create(CultureInfo.InvariantCulture, $"s  ε {expected[0]:F3}"), rounds[0]);
        Assert.EndsWith(string.Create(CultureInfo.InvariantCulture, $"s  ε {expected[1]:F3}"), rounds[1]);
        var summary = JsonDocument.Parse(lines[^1]).RootElement;
        Assert.Equal(Math.Round(expected[1], 4), summary.GetProperty("epsilon").GetDouble(), 9);
        using var anonymous = silo.Anonymous();
        var api = await anonymous.GetAsync($"/api/runs/{runId}/rounds").Expect();
        Assert.Equal(expected[1], api[1].GetProperty("epsilon").GetDouble(), 9);
        Assert.Equal("", watchError);
    }

    /// <summary>Watches the run while two approved scripted workers join it and train; returns what watch printed.</summary>
    private async Task<(string Output, string Error)> WatchWithTwoWorkers(string runId)
    {
        using var anonymous = silo.Anonymous();
        var workers = new List<ScriptedWorker>();
        using var watchOutput = new StringWriter();
        using var watchError = new StringWriter();
        var watching = RunCommands.WatchAsync(silo.Api, null, runId, watchOutput, watchError, CancellationToken.None, TimeSpan.FromMilliseconds(200),
            baselines: true);
        try
        {
            using var admin = silo.Admin();
            foreach (var id in new[] { Http.NewId("cli-a"), Http.NewId("cli-b") })
            {
                await WorkerApiTests.Register(anonymous, id);
                await admin.PostAsync($"/api/workers/{id}/approve", null).Expect();
                await silo.Grains.GetGrain<IRunGrain>(runId).Join(id, null); // the agent's part, as in EndToEndTests
                var worker = new ScriptedWorker(silo.Grains, id);
                worker.Start();
                workers.Add(worker);
            }
            var exit = await watching.WaitAsync(TimeSpan.FromSeconds(120));
            var view = await silo.Grains.GetGrain<IRunGrain>(runId).GetView();
            var reports = string.Join("\n", (await silo.Grains.GetGrain<IRunGrain>(runId).GetReports()).Select(r => r.Message));
            Assert.True(exit == 0, $"{watchOutput}\n{watchError}\n{view.FailureReason}\n{reports}");
        }
        finally
        {
            foreach (var worker in workers) await worker.DisposeAsync();
        }

        return (watchOutput.ToString(), watchError.ToString());
    }

    [Fact]
    public async Task Submit_with_a_wrong_key_fails_with_exit_code_3_naming_the_key_and_where_it_came_from_through_the_real_cli()
    {
        var runId = Http.NewId("cli-wrong");
        var spec = Write("spec.yaml", RunSpecYaml.Write(Specs.Quick()));
        var keyFile = Write("wrong-key", "not-the-admin-key-0123456789\n");

        var (code, output, error) = await Cli("submit", "--api", silo.BaseUrl, "--api-key-file", keyFile, "--run", runId, "--spec", spec, "--start");

        Assert.True(code == 3, $"exit {code}: {output}{error}");
        Assert.Contains("401", error);
        Assert.Contains("wrong", error);
        Assert.Contains($"--api-key-file {keyFile}", error);
        using var anonymous = silo.Anonymous();
        await anonymous.GetAsync($"/api/runs/{runId}").Problem(404, "id"); // nothing was created
    }

    [Fact]
    public async Task Submit_needs_a_key_and_reads_one_from_the_environment()
    {
        var spec = Write("spec.yaml", RunSpecYaml.Write(Specs.Quick()));
        var (code, _, error) = await Capture((o, e) => RunCommands.SubmitAsync(silo.Api, null, Http.NewId("cli-nokey"), spec, false, o, e, CancellationToken.None));
        Assert.Equal(3, code);
        Assert.Contains("--api-key-file", error);
        Assert.Contains("REGATTA_ADMIN_KEY", error);

        var fromEnvironment = AdminKey.Resolve(null, name => name == AdminKey.EnvironmentVariable ? $" {ApiSilo.AdminKey}\n" : null);
        Assert.Equal(new AdminKey(ApiSilo.AdminKey, "env REGATTA_ADMIN_KEY"), fromEnvironment);
        var runId = Http.NewId("cli-env");
        (code, var output, error) = await Capture((o, e) => RunCommands.SubmitAsync(silo.Api, fromEnvironment, runId, spec, false, o, e, CancellationToken.None));
        Assert.True(code == 0, error);
        Assert.Equal($"run {runId}: {RunState.Created}", output.Trim());
    }

    [Fact]
    public async Task A_refused_spec_prints_each_error_against_the_file_and_exits_2()
    {
        var spec = Write("bad.yaml", RunSpecYaml.Write(Specs.Quick()).Replace("rounds: 2", "rounds: 0").Replace("minClients: 2", "minClients: 0"));
        var (code, _, error) = await Capture((o, e) =>
            RunCommands.SubmitAsync(silo.Api, new AdminKey(ApiSilo.AdminKey, "test"), Http.NewId("cli-bad"), spec, true, o, e, CancellationToken.None));

        Assert.Equal(2, code);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length >= 2, error);
        Assert.All(lines, l => Assert.StartsWith($"{spec}: ", l));
        Assert.Contains(lines, l => l.StartsWith($"{spec}: rounds: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"{spec}: minClients: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unreachable_api_or_an_unknown_run_is_said_plainly()
    {
        var (code, _, error) = await Capture((o, e) => RunCommands.WatchAsync(new Uri("http://127.0.0.1:1/"), null, "nope", o, e, CancellationToken.None));
        Assert.Equal(4, code);
        Assert.Contains("cannot reach the Regatta API at http://127.0.0.1:1/", error);

        (code, _, error) = await Capture((o, e) => RunCommands.WatchAsync(silo.Api, null, Http.NewId("cli-none"), o, e, CancellationToken.None));
        Assert.Equal(1, code);
        Assert.Contains("does not exist", error);
    }

    [Theory]
    [InlineData("--api", "ftp://127.0.0.1:5080", "--api")]
    [InlineData("--api", "http://user:pw@127.0.0.1:5080", "--api")]
    [InlineData("--api-key-file", "/no/such/key-file", "no such file")]
    [InlineData("--run", "../etc", "--run")]
    public async Task Invalid_flags_exit_2_before_anything_is_sent(string flag, string value, string named)
    {
        var args = new Dictionary<string, string> { ["--api"] = silo.BaseUrl, ["--run"] = "ok-run", [flag] = value };
        var (code, _, error) = await Cli(["watch", .. args.SelectMany(a => new[] { a.Key, a.Value })]);
        Assert.True(code == 2, $"exit {code}: {error}");
        Assert.Contains(named, error);
    }

    [Fact]
    public void A_key_file_with_more_than_a_key_is_refused()
    {
        Assert.Contains("not an admin API key", Assert.Throws<ArgumentException>(() => AdminKey.Resolve(Write("two-lines", "a b\nc"))).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => AdminKey.Resolve(Write("empty", "\n"))).Message);
    }

    [Theory]
    [InlineData("--join-token", "CHANGE-ME", "--join-token is an example value")]   // deploy/k8s/secrets.example.yaml
    [InlineData("--cluster-id", "no spaces", "--cluster-id")]
    [InlineData("--service-id", "", "--service-id")]
    public async Task The_agent_refuses_a_placeholder_token_or_a_bad_cluster_id_before_it_connects(string flag, string value, string named)
    {
        var (code, _, error) = await Cli("--coordinator", "127.0.0.1:1", "--silo-cert-sha256", new string('a', 64), flag, value);
        Assert.True(code == 2, $"exit {code}: {error}");
        Assert.Contains(named, error);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<(int Code, string Output, string Error)> Capture(Func<TextWriter, TextWriter, Task<int>> command)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await command(output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>The built agent (<c>dotnet Regatta.WorkerAgent.dll ...</c>), as scripts run it.</summary>
    private async Task<(int Code, string Output, string Error)> Cli(params string[] args)
    {
        var dll = Path.Combine(Repo.Root, "WorkerAgent", "bin", Repo.Configuration, "net10.0", "Regatta.WorkerAgent.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment.Remove(AdminKey.EnvironmentVariable);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await output, await error);
    }

    [GeneratedRegex(@"^\[\d\d:\d\d:\d\d\] round +\d+: accuracy (\d\.\d{3}|NaN)  loss (\d+\.\d{4}|NaN)  train loss (\d+\.\d{4}|NaN)  witnesses (\d\.\d{3}|NaN)  updates \d+/\d+  \d+\.\ds$")]
    private static partial Regex RoundLine();

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
