using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Regatta.Dashboard.Access;

/// <summary>Tells the operator once, at start, the generated admin password or where it is kept.</summary>
internal sealed class CredentialsNotice(DashboardCredentials credentials, ILogger<CredentialsNotice> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (credentials.Notice is { } notice) logger.LogWarning("{Notice}", notice);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
