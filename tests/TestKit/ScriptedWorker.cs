using Regatta.Jobs;
using Regatta.Learning.Weights;
using Regatta.Models;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>
/// A worker that follows the protocol without training: it uploads a small real update (a fixed step on every
/// weight) and witnesses by echoing the candidate's hash. It drives the coordinator's mechanics quickly;
/// the agent tests use real TorchSharp workers.
/// </summary>
public sealed class ScriptedWorker(IGrainFactory grains, string workerId) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public string WorkerId => workerId;
    public IWorkerGrain Grain => grains.GetGrain<IWorkerGrain>(workerId);
    public IWorkerOperatorGrain Operator => grains.GetGrain<IWorkerOperatorGrain>(workerId);
    public List<string> CompletedJobs { get; } = [];
    /// <summary>When false the worker takes jobs but never reports (a stuck member).</summary>
    public bool Reports { get; set; } = true;
    /// <summary>Which kinds of job it answers (default: all); the others it takes and ignores.</summary>
    public Func<JobKind, bool> Answers { get; set; } = _ => true;
    /// <summary>How long each training job takes (zero: at once); a slow member keeps a round open.</summary>
    public TimeSpan TrainDelay { get; set; }
    /// <summary>
    /// Gives up on a call after this long and tries again (null: wait as long as Orleans does). An Orleans client does
    /// not fail the calls in flight when its gateway dies; they wait for the response timeout (30 s).
    /// </summary>
    public TimeSpan? CallTimeout { get; set; }

    public async Task<WorkerView> RegisterAsync(bool approve = true)
    {
        var view = (await Grain.Register(new WorkerRegistration
        {
            Name = workerId,
            Hardware = new Hardware { DeviceKind = "cpu", DeviceName = "test", CpuCores = 2, RamBytes = 1 << 30, AgentVersion = "test" },
        })).View;
        if (approve && view.Approval == ApprovalStatus.Pending) view = await Operator.Approve();
        return view;
    }

    /// <summary>Calls that failed because a silo or gateway went away; the worker keeps going (with the job in hand).</summary>
    public int TransportFailures => Volatile.Read(ref _transportFailures);
    private int _transportFailures;

    public void Start()
    {
        _loop = Task.Run(async () =>
        {
            Assignment? job = null;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await Bounded(Grain.Heartbeat(new Heartbeat()));
                    job ??= await Bounded(Grain.NextAssignment(TimeSpan.FromMilliseconds(300)));
                    if (job is null) continue;
                    if (!Reports || !Answers(job.Kind)) { job = null; continue; }
                    var outcome = job.Kind == JobKind.Train ? await Bounded(Train(job)) : Witness(job);
                    await Bounded(Grain.Complete(job.JobId, outcome));
                    lock (CompletedJobs) CompletedJobs.Add(job.JobId);
                    job = null;
                }
                catch (RegattaException) { job = null; } // refused (e.g. already closed): the coordinator has moved on
                catch (Exception e) when (!_stop.IsCancellationRequested && e is OrleansException or TimeoutException)
                {
                    // A silo died under the call: like an agent, keep the job and try again through a live gateway.
                    Interlocked.Increment(ref _transportFailures);
                    await Task.Delay(200);
                }
                catch (Exception) when (_stop.IsCancellationRequested) { }
            }
        });
    }

    private Task<T> Bounded<T>(Task<T> call) => CallTimeout is { } timeout ? call.WaitAsync(timeout) : call;

    private async Task<JobOutcome> Train(Assignment job)
    {
        if (TrainDelay > TimeSpan.Zero) await Task.Delay(TrainDelay, _stop.Token);
        var global = ModelWeights.FromBytes(await Download(grains, job.ModelHash));
        var delta = global.WithValues(Enumerable.Repeat(0.001f, (int)global.ParameterCount).ToArray());
        var hash = await Upload(grains, delta.ToBytes());
        return new JobOutcome
        {
            Succeeded = true,
            OutputHash = hash,
            Metrics = new() { [MetricNames.Examples] = 100, [MetricNames.Loss] = 0.5 },
        };
    }

    private static JobOutcome Witness(Assignment job) => new()
    {
        Succeeded = true,
        OutputHash = job.ModelHash,
        Metrics = new() { [MetricNames.Loss] = 0.4, [MetricNames.Accuracy] = 0.8, ["baseLoss"] = 0.5 },
    };

    public static async Task<byte[]> Download(IGrainFactory grains, string hash)
    {
        var blob = grains.GetGrain<IBlobGrain>(hash);
        var info = await blob.GetInfo() ?? throw new InvalidOperationException("no blob " + hash);
        var bytes = new List<byte>((int)info.Length);
        for (var i = 0; i < info.ChunkCount; i++) bytes.AddRange(await blob.ReadChunk(i));
        return [.. bytes];
    }

    public static async Task<string> Upload(IGrainFactory grains, byte[] bytes)
    {
        var hash = ModelWeights.Hash(bytes);
        var blob = grains.GetGrain<IBlobGrain>(hash);
        for (var i = 0; i < BlobLimits.ChunkCount(bytes.Length); i++)
        {
            var offset = i * BlobLimits.ChunkSize;
            await blob.WriteChunk(bytes.Length, i, bytes[offset..Math.Min(bytes.Length, offset + BlobLimits.ChunkSize)]);
        }
        await blob.Seal(bytes.Length);
        return hash;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null) await _loop;
    }
}
