using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Silo.Api;

// Run resources as JSON. Doubles that are not finite (no round yet, no validation set) are null, since JSON has no NaN.

public sealed record RunDto(
    string RunId, string Name, RunState State, RunState? PausedFrom, int Round, int Attempt, int CommittedRounds,
    double? Accuracy, double? Loss, string? GlobalModelHash, string? KitHash, string? FailureReason, DateTimeOffset CreatedAt,
    List<RunMember> Members, List<Checkpoint> Checkpoints, RunSpec Spec, List<RunTransition> Timeline, double? Epsilon,
    double? InitialAccuracy, double? InitialLoss)
{
    public static RunDto Of(RunView v, List<RunTransition> timeline) => new(v.RunId, v.Spec.Name, v.State, v.PausedFrom, v.Round,
        v.Attempt, v.CommittedRounds, Finite.Or(v.Accuracy), Finite.Or(v.Loss), v.GlobalModelHash, v.KitHash, v.FailureReason, v.CreatedAt,
        v.Members, v.Checkpoints, v.Spec, timeline, Finite.Or(v.Epsilon), Finite.Or(v.InitialAccuracy), Finite.Or(v.InitialLoss));
}

public sealed record RunSummaryDto(string RunId, string Name, RunState State, int Round, int Members, double? BestAccuracy, DateTimeOffset CreatedAt)
{
    public static RunSummaryDto Of(RunSummary s) => new(s.RunId, s.Name, s.State, s.Round, s.Members, Finite.Or(s.BestAccuracy), s.CreatedAt);
}

public sealed record RoundDto(
    int Round, int Attempts, List<string> Selected, List<string> Witnesses, int UpdatesAccepted, int UpdatesRefused,
    DateTimeOffset StartedAt, DateTimeOffset EndedAt, string? ModelHash, double? TrainLoss, double? WitnessLoss,
    double? WitnessAccuracy, double? ValidationLoss, double? ValidationAccuracy, List<string> RefusalReasons, double? Epsilon)
{
    public static RoundDto Of(RoundRecord r) => new(r.Round, r.Attempts, r.Selected, r.Witnesses, r.UpdatesAccepted, r.UpdatesRefused,
        r.StartedAt, r.EndedAt, r.ModelHash, Finite.Or(r.TrainLoss), Finite.Or(r.WitnessLoss), Finite.Or(r.WitnessAccuracy),
        Finite.Or(r.ValidationLoss), Finite.Or(r.ValidationAccuracy), r.RefusalReasons, Finite.Or(r.Epsilon));
}

/// <summary>One point per committed round, for charts.</summary>
public sealed record MetricPoint(
    int Round, double Seconds, int UpdatesAccepted, int UpdatesRefused, double? TrainLoss, double? WitnessLoss,
    double? WitnessAccuracy, double? ValidationLoss, double? ValidationAccuracy, double? Epsilon);

public sealed record RunMetricsDto(string RunId, RunState State, int Round, int CommittedRounds, double? Accuracy, double? Loss, List<MetricPoint> Rounds)
{
    public static RunMetricsDto Of(RunView v, List<RoundRecord> rounds) => new(v.RunId, v.State, v.Round, v.CommittedRounds,
        Finite.Or(v.Accuracy), Finite.Or(v.Loss),
        [.. rounds.Select(r => new MetricPoint(r.Round, Math.Round((r.EndedAt - r.StartedAt).TotalSeconds, 3), r.UpdatesAccepted, r.UpdatesRefused,
            Finite.Or(r.TrainLoss), Finite.Or(r.WitnessLoss), Finite.Or(r.WitnessAccuracy), Finite.Or(r.ValidationLoss), Finite.Or(r.ValidationAccuracy), Finite.Or(r.Epsilon)))]);
}

public sealed record PageDto<T>(List<T> Items, int Total, int Skip, int Take);

/// <summary>Optional body of cancel and reject.</summary>
public sealed record ReasonRequest
{
    public string? Reason { get; init; }
}

public sealed record JobPageDto(List<JobSummary> Items, int Total, int Skip, int Take);

public static class Finite
{
    public static double? Or(double value) => double.IsFinite(value) ? value : null;
}
