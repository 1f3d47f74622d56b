using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Regatta.Silo.Api;

/// <summary>
/// Registration is limited per remote IP (ASP.NET Core rate limiting middleware); heartbeats per worker id, which
/// is only known once the body is read, so that limiter is asked from the handler.
/// </summary>
public static class ApiRateLimits
{
    public const string RegisterPolicy = "worker-register";
    public const string GatewaysPolicy = "cluster-gateways";

    public static IServiceCollection AddApiRateLimits(this IServiceCollection services)
    {
        services.AddSingleton<HeartbeatLimiter>();
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(RegisterPolicy, http =>
            {
                var permits = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.RegisterPermitsPerMinute;
                return RateLimitPartition.GetFixedWindowLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
            });
            o.AddPolicy(GatewaysPolicy, http =>
            {
                var permits = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.GatewaysPermitsPerMinute;
                return RateLimitPartition.GetFixedWindowLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
            });
            o.OnRejected = async (context, ct) =>
            {
                var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
                await WriteAsync(context.HttpContext, "remote address", retry);
            };
        });
        return services;
    }

    public static Task WriteAsync(HttpContext http, string per, TimeSpan retryAfter)
    {
        http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString();
        return ApiProblems.Create(StatusCodes.Status429TooManyRequests,
            new Dictionary<string, string[]> { ["rate"] = [$"too many requests from this {per}; retry after {http.Response.Headers.RetryAfter} s"] },
            "rate_limited").ExecuteAsync(http);
    }
}

/// <summary>A fixed window of heartbeats per worker id.</summary>
public sealed class HeartbeatLimiter(IOptions<ApiOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(workerId =>
        RateLimitPartition.GetFixedWindowLimiter(workerId, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = options.Value.HeartbeatPermitsPerMinute,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));

    /// <summary>Null when allowed; otherwise how long to wait.</summary>
    public TimeSpan? Check(string workerId)
    {
        using var lease = _limiter.AttemptAcquire(workerId);
        if (lease.IsAcquired) return null;
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
    }

    public void Dispose() => _limiter.Dispose();
}
