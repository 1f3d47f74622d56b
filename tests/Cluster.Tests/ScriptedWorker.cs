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
    public List<string> CompletedJobs { get; } = [];
    /// <summary>When false the worker takes jobs but never reports (a stuck member).</summary>
    public bool Reports { get; set; } = true;

    public async Task<WorkerView> RegisterAsync(bool approve = true)
    {
        var view = await Grain.Register(new WorkerRegistration
        {
            Name = workerId,
            Hardware = new Hardware { DeviceKind = "cpu", DeviceName = "test", CpuCores = 2, RamBytes = 1 << 30, AgentVersion = "test" },
        });
        if (approve && view.Approval == ApprovalStatus.Pending) view = await Grain.Approve();
        return view;
    }

    public void Start()
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await Grain.Heartbeat(new Heartbeat());
                    var job = await Grain.NextAssignment(TimeSpan.FromMilliseconds(300));
                    if (job is null || !Reports) continue;
                    var outcome = job.Kind == JobKind.Train ? await Train(job) : Witness(job);
                    await grains.GetGrain<IJobGrain>(job.JobId).Complete(workerId, outcome);
                    lock (CompletedJobs) CompletedJobs.Add(job.JobId);
                }
                catch (RegattaException) { }
                catch (Exception) when (_stop.IsCancellationRequested) { }
            }
        });
    }

    private async Task<JobOutcome> Train(Assignment job)
    {
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
