using Regatta.Network;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>
/// What an agent does once it has loaded its blocks: announce a block server for exactly its assigned range (again
/// with every heartbeat). Only announced blocks count as served. The server here is never asked to run anything.
/// </summary>
public static class Announcing
{
    private sealed class IdleBlockServer : IBlockServer
    {
        public Task<ForwardResult> Forward(ForwardRequest request) => throw new InvalidOperationException("not used");
    }

    private static readonly IdleBlockServer Server = new();

    public static async Task Announce(RegattaCluster cluster, string workerId)
    {
        var view = await Eventually.Until(() => cluster.Grains.GetGrain<IWorkerOperatorGrain>(workerId).GetView(), v => v.Layers is not null,
            TimeSpan.FromSeconds(10), $"{workerId} told its layers");
        await cluster.Grains.GetGrain<IWorkerGrain>(workerId).Serve(cluster.Grains.CreateObjectReference<IBlockServer>(Server), view.ModelVersion!, view.Layers!);
    }
}
