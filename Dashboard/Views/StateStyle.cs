using MudBlazor;
using Regatta.Jobs;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Dashboard.Views;

/// <summary>One color per state, the same on every page, so an operator learns them once.</summary>
public static class StateStyle
{
    public static Color Of(RunState state) => state switch
    {
        RunState.Created => Color.Default,
        RunState.WaitingForMembers or RunState.Warmup => Color.Info,
        RunState.RoundTrain => Color.Primary,
        RunState.RoundWitness => Color.Secondary,
        RunState.Cooldown => Color.Tertiary,
        RunState.Finished => Color.Success,
        RunState.Paused => Color.Warning,
        RunState.Cancelled => Color.Dark,
        RunState.Failed => Color.Error,
        _ => Color.Default,
    };

    public static Color Of(Liveness liveness) => liveness switch
    {
        Liveness.Online => Color.Success,
        Liveness.Busy => Color.Primary,
        Liveness.Standby => Color.Info,
        _ => Color.Default,
    };

    public static Color Of(ApprovalStatus approval) => approval switch
    {
        ApprovalStatus.Approved => Color.Success,
        ApprovalStatus.Pending => Color.Warning,
        ApprovalStatus.Rejected => Color.Error,
        _ => Color.Default,
    };

    public static Color Of(JobResult result, JobStatus status) => status == JobStatus.Opened ? Color.Info : result switch
    {
        JobResult.Success => Color.Success,
        JobResult.Failure or JobResult.Timeout => Color.Error,
        JobResult.Cancelled => Color.Dark,
        _ => Color.Default,
    };

    public static Color Of(MemberStatus status) => status switch
    {
        MemberStatus.Active => Color.Success,
        MemberStatus.Pending => Color.Warning,
        _ => Color.Default,
    };

    public static Color OfSeverity(string severity) => severity switch
    {
        "error" => Color.Error,
        "warning" => Color.Warning,
        _ => Color.Info,
    };

    /// <summary>"RoundTrain" reads as "Round train".</summary>
    public static string Words(Enum value)
    {
        var name = value.ToString();
        var words = System.Text.RegularExpressions.Regex.Replace(name, "(?<=[a-z])([A-Z])", " $1").ToLowerInvariant();
        return char.ToUpperInvariant(words[0]) + words[1..];
    }

    public static bool CanStart(RunState s) => s == RunState.Created;
    public static bool CanPause(RunState s) => s is not (RunState.Created or RunState.Paused) && !s.IsTerminal();
    public static bool CanResume(RunState s) => s == RunState.Paused;
    public static bool CanCancel(RunState s) => !s.IsTerminal();
}
