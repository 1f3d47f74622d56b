using System.Diagnostics.Metrics;
using Regatta.Jobs;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Grains.Telemetry;

/// <summary>
/// Regatta's instruments (meter "Regatta"), exported by the silo through OpenTelemetry (Prometheus at /metrics, OTLP
/// when configured). Counters count what happened on this silo: sum them over silos. The worker gauges describe the
/// whole cluster and every silo reports the same value: take their max. Each grain calls one method per event, so
/// instrumenting a grain costs one line.
/// </summary>
public static class RegattaMetrics
{
    public const string MeterName = "Regatta";

    private static readonly Meter Meter = new(MeterName, typeof(RegattaMetrics).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> RunsCreatedCounter = Meter.CreateCounter<long>("regatta.runs.created", "{run}", "Runs created");
    private static readonly Counter<long> RunsEndedCounter = Meter.CreateCounter<long>("regatta.runs.ended", "{run}", "Runs that reached a terminal state, by state");
    private static readonly Counter<long> RoundsCommittedCounter = Meter.CreateCounter<long>("regatta.rounds.committed", "{round}", "Rounds committed");
    private static readonly Histogram<double> RoundDuration = Meter.CreateHistogram<double>("regatta.round.duration", "s", "Time from a round's start to its commit, retries included");
    private static readonly Histogram<double> RoundOpenDuration = Meter.CreateHistogram<double>("regatta.round.open.duration", "s",
        "Coordinator time to open a round or attempt: select the members, persist the round, send each its assignment");
    private static readonly Counter<long> HeartbeatsCounter = Meter.CreateCounter<long>("regatta.worker.heartbeats", "{heartbeat}", "Heartbeats received from worker agents");
    private static readonly Counter<long> JobsOpenedCounter = Meter.CreateCounter<long>("regatta.jobs.opened", "{job}", "Jobs opened, by kind");
    private static readonly Counter<long> JobsClosedCounter = Meter.CreateCounter<long>("regatta.jobs.closed", "{job}", "Jobs closed, by kind and result");
    private static readonly Histogram<double> JobDuration = Meter.CreateHistogram<double>("regatta.job.duration", "s", "Time from a job's opening to its closing");
    private static readonly Counter<long> AggregatedBytesCounter = Meter.CreateCounter<long>("regatta.aggregation.bytes", "By", "Bytes of accepted model updates folded into aggregates");

    private static readonly Counter<long> InferenceRequestsCounter = Meter.CreateCounter<long>("regatta.inference.requests", "{request}", "Inference requests served, by outcome");
    private static readonly Counter<long> InferenceTokensCounter = Meter.CreateCounter<long>("regatta.inference.tokens", "{token}", "Tokens of inference requests, by kind (prompt, completion)");
    private static readonly Counter<long> CallsRefusedCounter = Meter.CreateCounter<long>("regatta.calls.refused", "{call}", "Calls from outside the cluster refused by the gate, by reason");
    private static readonly Counter<long> HopRetriesCounter = Meter.CreateCounter<long>("regatta.inference.hop_retries", "{hop}", "Inference hops that failed and were retried on another worker");
    private static readonly Histogram<double> HopDuration = Meter.CreateHistogram<double>("regatta.inference.hop.duration", "s", "Time of one hop of an inference step through a worker");

    private static WorkerCounts? _workers;

    static RegattaMetrics()
    {
        Meter.CreateObservableGauge("regatta.workers", ObserveWorkers, "{worker}", "Workers by state, cluster-wide (every silo reports it: use max)");
    }

    public static void RunCreated() => RunsCreatedCounter.Add(1);

    public static void RunEnded(RunState state) => RunsEndedCounter.Add(1, new KeyValuePair<string, object?>("state", state.ToString()));

    public static void RoundCommitted(RoundRecord round)
    {
        RoundsCommittedCounter.Add(1);
        if (round.EndedAt > round.StartedAt) RoundDuration.Record((round.EndedAt - round.StartedAt).TotalSeconds);
    }

    public static void RoundOpened(TimeSpan elapsed, int members) =>
        RoundOpenDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("members", MembersBucket(members)));

    // A bounded tag: the order of magnitude of the round's size, so a dashboard can tell 10-member rounds from 10k.
    private static string MembersBucket(int members) => members switch { < 10 => "<10", < 100 => "<100", < 1000 => "<1k", < 10000 => "<10k", _ => ">=10k" };

    public static void Heartbeat() => HeartbeatsCounter.Add(1);

    public static void CallRefused(string code) => CallsRefusedCounter.Add(1, new KeyValuePair<string, object?>("reason", code));

    public static void InferenceServed(int promptTokens, int completionTokens)
    {
        InferenceRequestsCounter.Add(1, new KeyValuePair<string, object?>("outcome", "served"));
        InferenceTokensCounter.Add(promptTokens, new KeyValuePair<string, object?>("kind", "prompt"));
        InferenceTokensCounter.Add(completionTokens, new KeyValuePair<string, object?>("kind", "completion"));
    }

    public static void InferenceFailed(string code) => InferenceRequestsCounter.Add(1, new KeyValuePair<string, object?>("outcome", code));

    public static void Hop(TimeSpan elapsed, bool succeeded)
    {
        HopDuration.Record(elapsed.TotalSeconds);
        if (!succeeded) HopRetriesCounter.Add(1);
    }

    public static void JobOpened(JobRecord job) => JobsOpenedCounter.Add(1, new KeyValuePair<string, object?>("kind", job.Kind.ToString()));

    public static void JobClosed(JobRecord job)
    {
        var kind = new KeyValuePair<string, object?>("kind", job.Kind.ToString());
        JobsClosedCounter.Add(1, kind, new KeyValuePair<string, object?>("result", job.Result.ToString()));
        if (job.ClosedAt is { } closed && closed >= job.OpenedAt) JobDuration.Record((closed - job.OpenedAt).TotalSeconds, kind);
    }

    /// <summary>An accepted update of <paramref name="parameters"/> float32 values was folded into the round's aggregate.</summary>
    public static void UpdateAggregated(long parameters) => AggregatedBytesCounter.Add(parameters * sizeof(float));

    /// <summary>The latest worker counts, read from the worker registry by the silo's poller (null: not known yet).</summary>
    public static void SetWorkerCounts(WorkerCounts counts) => Volatile.Write(ref _workers, counts);

    private static IEnumerable<Measurement<int>> ObserveWorkers()
    {
        if (Volatile.Read(ref _workers) is not { } w) yield break;
        yield return new Measurement<int>(w.Online, new KeyValuePair<string, object?>("status", "online"));
        yield return new Measurement<int>(w.Pending, new KeyValuePair<string, object?>("status", "pending"));
        yield return new Measurement<int>(w.Offline, new KeyValuePair<string, object?>("status", "offline"));
    }
}
