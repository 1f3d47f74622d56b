using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>A real agent process (<c>dotnet Regatta.WorkerAgent.dll</c>, as scripts run it) told to stop by a signal.</summary>
public sealed class AgentLeaveTests
{
    private const int SigTerm = 15;

    [Fact]
    public async Task Sigterm_unregisters_the_worker_and_leaves_its_run_before_the_process_exits()
    {
        // A heartbeat timeout far longer than the test waits: only the agent's own goodbye can make it Offline in time.
        await using var cluster = await RegattaCluster.StartAsync(heartbeatTimeout: TimeSpan.FromMinutes(5));
        var run = cluster.Grains.GetGrain<IRunGrain>("leave");
        await run.Create(Specs.Quick(minClients: 2) with { JoinToken = "leave-join-token" }); // waits for a second member that never comes
        await run.Start();
        var worker = cluster.Grains.GetGrain<IWorkerOperatorGrain>("leaver");
        var gateway = cluster.Cluster.Primary!.GatewayAddress!.Endpoint;

        using var agent = AgentProcess.Start(
            "--coordinator", $"{gateway.Address}:{gateway.Port}", "--id", "leaver", "--name", "leaver", "--device", "cpu",
            "--run", "leave", "--join-token", "leave-join-token", "--heartbeat", "1", "--serve-memory-mb", "0",
            "--cache-dir", Path.Combine(cluster.DataDir, "agents", "leaver"), "--silo-cert-sha256", cluster.CertificateSha256);
        try
        {
            await Eventually.Until(run.GetView, v => v.Members.Any(m => m.WorkerId == "leaver") || agent.HasExited, TimeSpan.FromSeconds(90), "the agent joins");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{agent.Output()}");
        }
        Assert.False(agent.HasExited, agent.Output());
        Assert.Equal(Liveness.Online, (await worker.GetView()).Liveness);
        // The agent now sits in its 15 s assignment long poll, which a stop used to wait out past the 2 s the process was given.

        var signalled = Stopwatch.StartNew();
        agent.Signal(SigTerm);
        var code = await agent.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var took = signalled.Elapsed;

        Assert.True(code == 0, $"exit code {code}:\n{agent.Output()}");
        Assert.Contains("Stopping: unregistering leaver", agent.Output());
        Assert.Contains("Unregistered leaver", agent.Output());
        // The process is gone and the cluster already knows: no waiting for the heartbeat timeout.
        var view = await worker.GetView();
        Assert.Equal(Liveness.Offline, view.Liveness);
        Assert.Empty(view.Runs);
        Assert.Equal(MemberStatus.Dropped, (await run.GetView()).Members.Single(m => m.WorkerId == "leaver").Status);
        Assert.True(took < WorkerAgent.WorkerSession.LeaveTimeout + TimeSpan.FromSeconds(5), $"took {took} to leave");
    }

    /// <summary>The agent's process with its output captured for failure messages.</summary>
    private sealed class AgentProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private AgentProcess(Process process) => _process = process;

        public static AgentProcess Start(params string[] args)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(Repo.Root, "WorkerAgent", "bin", Repo.Configuration, "net10.0", "Regatta.WorkerAgent.dll"));
            foreach (var arg in args) start.ArgumentList.Add(arg);
            var agent = new AgentProcess(new Process { StartInfo = start });
            agent._process.OutputDataReceived += (_, e) => agent.Append(e.Data);
            agent._process.ErrorDataReceived += (_, e) => agent.Append(e.Data);
            agent._process.Start();
            agent._process.BeginOutputReadLine();
            agent._process.BeginErrorReadLine();
            return agent;
        }

        public bool HasExited => _process.HasExited;

        public string Output()
        {
            lock (_output) return _output.ToString();
        }

        public void Signal(int signal)
        {
            if (kill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            try
            {
                await _process.WaitForExitAsync().WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"the agent did not exit within {timeout.TotalSeconds} s:\n{Output()}");
            }
            _process.WaitForExit(); // drains the redirected output
            return _process.ExitCode;
        }

        private void Append(string? line)
        {
            if (line is null) return;
            lock (_output) _output.AppendLine(line);
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill();
            _process.Dispose();
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int kill(int pid, int sig);
    }
}
