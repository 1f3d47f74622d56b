using System.Collections.Concurrent;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Regatta.Storage;

namespace Regatta.Silo;

/// <summary>
/// The silo's health endpoints (docs/deploy.md, Probes). Liveness asks nothing of the cluster, so one stalled silo
/// cannot get every pod restarted; readiness is this silo's own state; /healthz is the cluster seen through this silo.
/// </summary>
public static class SiloHealth
{
    /// <summary>200 while the process answers HTTP (Kubernetes' livenessProbe).</summary>
    public const string LivePath = "/healthz/live";
    /// <summary>200 while this silo is Active in the cluster, not draining, and its storage answers (readinessProbe).</summary>
    public const string ReadyPath = "/healthz/ready";
    /// <summary>200 when the cluster answers through this silo with at least one active silo (start-up scripts, compose).</summary>
    public const string ClusterPath = "/healthz";

    private const string Ready = "ready";
    private const string Cluster = "cluster";

    public static WebApplicationBuilder AddRegattaHealth(this WebApplicationBuilder builder, SiloSettings settings)
    {
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownTimeout);
        builder.Services.AddSingleton<CircuitConnections>();
        builder.Services.AddSingleton(sp => new ShutdownDrain(settings.DrainDelay, sp.GetRequiredService<CircuitConnections>()));
        builder.Services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<ShutdownDrain>());
        var checks = builder.Services.AddHealthChecks()
            .AddCheck<LocalSiloCheck>("silo", tags: [Ready])
            .AddCheck<ClusterCheck>("cluster", tags: [Cluster]);
        if (settings.Storage == StorageKind.Postgres) checks.AddCheck<PostgresCheck>("storage", tags: [Ready]);
        return builder;
    }

    /// <summary>Maps the three endpoints, and puts <see cref="CircuitConnections"/> in front of every request (call it first).</summary>
    public static WebApplication MapRegattaHealth(this WebApplication app)
    {
        var circuits = app.Services.GetRequiredService<CircuitConnections>();
        app.Use((context, next) => circuits.InvokeAsync(context, next));
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready) });
        app.MapHealthChecks(ClusterPath, new HealthCheckOptions { Predicate = c => c.Tags.Contains(Cluster) });
        return app;
    }
}

/// <summary>
/// Runs first when the host stops (SIGTERM): marks the silo not ready, then keeps HTTP up for the drain delay before
/// the web server and Orleans stop, so a balancer that polls /healthz/ready moves new requests to the other silos.
/// </summary>
internal sealed class ShutdownDrain(TimeSpan delay, CircuitConnections circuits) : IHostedLifecycleService
{
    private volatile bool _draining;

    public bool Draining => _draining;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException) { } // the shutdown timeout ran out: stop now
        circuits.CloseAll();
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// The dashboard's open circuits (one WebSocket each). The web server waits for open connections when it stops, and a
/// circuit never ends by itself: after the drain they are closed and no new one is accepted, so each browser
/// reconnects to another silo at once (a new page there, still signed in) instead of holding this one up.
/// </summary>
internal sealed class CircuitConnections
{
    private readonly ConcurrentDictionary<HttpContext, byte> _open = new();
    private volatile bool _closed;

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        // By header: WebSocketManager.IsWebSocketRequest is only set inside the hub's own pipeline, after this runs.
        if (!context.Request.Headers.Upgrade.ToString().Contains("websocket", StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }
        if (_closed)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }
        _open[context] = 0;
        try
        {
            await next(context);
        }
        finally
        {
            _open.TryRemove(context, out _);
        }
    }

    public void CloseAll()
    {
        _closed = true;
        foreach (var context in _open.Keys) context.Abort();
    }
}

/// <summary>Ready while this silo's own membership status is Active and it is not draining for shutdown.</summary>
internal sealed class LocalSiloCheck(ISiloStatusOracle oracle, ShutdownDrain drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(drain.Draining ? HealthCheckResult.Unhealthy("shutting down")
            : oracle.CurrentStatus == SiloStatus.Active ? HealthCheckResult.Healthy("active")
            : HealthCheckResult.Unhealthy($"silo is {oracle.CurrentStatus}"));
}

/// <summary>Ready while the database answers a trivial query within a few seconds.</summary>
internal sealed class PostgresCheck(RegattaPostgresDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await using var command = database.DataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException)
        {
            // The message names the server, never the connection string (it may hold the password).
            return HealthCheckResult.Unhealthy($"PostgreSQL at {database.Where} does not answer");
        }
    }
}

/// <summary>Healthy when the cluster answers through this silo with at least one active silo.</summary>
internal sealed class ClusterCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            return hosts.Count > 0 ? HealthCheckResult.Healthy($"{hosts.Count} active silo(s)") : HealthCheckResult.Unhealthy("no active silo");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy("silo not ready: " + e.Message);
        }
    }
}
