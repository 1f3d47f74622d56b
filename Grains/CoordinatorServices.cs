using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Regatta.Grains.Models;

namespace Regatta.Grains;

public static class CoordinatorServices
{
    /// <summary>The services Regatta's grains need, shared by the silo host and the test clusters.</summary>
    public static IServiceCollection AddRegattaCoordinator(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IBlobStore, BlobStore>(); // production replaces it with the shared database's
        services.TryAddSingleton<Network.ServedTokenizers>(); // tokenizers of served models, by content hash
        services.TryAddSingleton<BlobDataPlane>(); // the silo host fills in the HTTP URL it advertises for blobs
        services.AddSingleton<IModelRuntime, TorchModelRuntime>();
        services.TryAddSingleton<Workers.WorkerLivenessClock>(); // one liveness timer per silo for all worker grains
        // Calls from outside the cluster: the silo host replaces the process key with the cluster's configured one.
        services.TryAddSingleton(_ => Security.ClusterKey.ProcessKey);
        services.TryAddSingleton<Security.WorkerCredentials>();
        services.AddSingleton<IIncomingGrainCallFilter, Security.AgentGate>();
        services.AddSingleton<IOutgoingGrainCallFilter, Security.ClusterCallStamp>();
        services.AddHostedService<UploadSweeper>(); // abandoned partial uploads, every Regatta:UploadSweepInterval
        return services;
    }
}
