using Regatta.Grains.Workers;
using Regatta.Workers;

namespace Regatta.Grains.Tests.Workers;

public sealed class WorkerRulesTests
{
    private static readonly WorkerRegistration Good = new()
    {
        Name = "box",
        Hardware = new Hardware { DeviceKind = "cpu", CpuCores = 2, RamBytes = 1 << 30, AgentVersion = "0.1.0" },
    };

    [Fact]
    public void A_plain_registration_and_heartbeat_pass()
    {
        Assert.Null(WorkerRules.RegistrationProblems(Good));
        Assert.Null(WorkerRules.HeartbeatProblems(new Heartbeat { TokensServedSinceLast = 5, Progress = new JobProgress("j", 0.5, "half") }));
    }

    public static TheoryData<WorkerRegistration, string> BadRegistrations => new()
    {
        { Good with { Name = new string('x', 101) }, "name" },
        { Good with { Hardware = Good.Hardware with { DeviceKind = "tpu" } }, "hardware.deviceKind" },
        { Good with { Hardware = Good.Hardware with { VramBytes = -1 } }, "hardware.vramBytes" },
        { Good with { Hardware = Good.Hardware with { CpuCores = 100_000 } }, "hardware.cpuCores" },
        { Good with { Hardware = Good.Hardware with { Capabilities = [.. Enumerable.Repeat("c", 65)] } }, "hardware.capabilities" },
        { Good with { Hardware = Good.Hardware with { DeviceName = new string('d', 201) } }, "hardware.deviceName" },
        { Good with { Hardware = Good.Hardware with { ServeMemoryBytes = -5 } }, "hardware.serveMemoryBytes" },
    };

    [Theory, MemberData(nameof(BadRegistrations))]
    public void A_bad_registration_names_its_field(WorkerRegistration registration, string field) =>
        Assert.StartsWith(field, WorkerRules.RegistrationProblems(registration));

    [Fact]
    public void A_bad_heartbeat_names_its_field()
    {
        Assert.StartsWith("tokensServedSinceLast", WorkerRules.HeartbeatProblems(new Heartbeat { TokensServedSinceLast = WorkerLimits.MaxTokensPerHeartbeat + 1 }));
        Assert.StartsWith("tokensServedSinceLast", WorkerRules.HeartbeatProblems(new Heartbeat { TokensServedSinceLast = -1 }));
        Assert.StartsWith("progress", WorkerRules.HeartbeatProblems(new Heartbeat { Progress = new JobProgress("j", double.NaN, "") }));
        Assert.StartsWith("progress", WorkerRules.HeartbeatProblems(new Heartbeat { Progress = new JobProgress("j", 0.1, new string('m', 501)) }));
        Assert.Contains("Offline", WorkerRules.HeartbeatProblems(new Heartbeat { Status = Liveness.Offline }));
    }

    [Theory]
    [InlineData("pending", Liveness.Online)]
    [InlineData("Approved", Liveness.Online)]
    [InlineData("SERVING", Liveness.Online)]
    [InlineData(" standby ", Liveness.Standby)]
    [InlineData("idle", Liveness.Standby)]
    [InlineData("offline", Liveness.Standby)]
    [InlineData("busy", Liveness.Busy)]
    [InlineData("warming-up", Liveness.Online)]
    [InlineData(null, Liveness.Online)]
    public void A_self_reported_status_is_recorded_as_said_and_read_as_liveness(string? word, Liveness liveness)
    {
        var heartbeat = WorkerRules.Reported(word, 7);
        Assert.Equal((liveness, word?.Trim().ToLowerInvariant(), 7L), (heartbeat.Status, heartbeat.Reported, heartbeat.TokensServedSinceLast));
        Assert.Null(WorkerRules.HeartbeatProblems(heartbeat));
    }

    [Fact]
    public void Only_empty_absurdly_long_or_control_character_statuses_are_refused()
    {
        Assert.Null(WorkerRules.ReportedStatusProblem(new string('x', WorkerRules.MaxReportedStatusLength)));
        Assert.NotNull(WorkerRules.ReportedStatusProblem(new string('x', WorkerRules.MaxReportedStatusLength + 1)));
        Assert.NotNull(WorkerRules.ReportedStatusProblem("  "));
        Assert.NotNull(WorkerRules.ReportedStatusProblem("online\n"));
        Assert.StartsWith("status", WorkerRules.HeartbeatProblems(new Heartbeat { Reported = "a\u0000b" }));
    }

    [Fact]
    public void The_recorded_status_word_is_the_workers_own_else_its_liveness_in_lower_case()
    {
        foreach (var liveness in Enum.GetValues<Liveness>())
            Assert.Equal(liveness.ToString().ToLowerInvariant(), WorkerRules.ReportedWord(new Heartbeat { Status = liveness }));
        Assert.Equal("warming-up", WorkerRules.ReportedWord(new Heartbeat { Status = Liveness.Online, Reported = "warming-up" }));
    }
}
