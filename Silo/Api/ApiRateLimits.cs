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
    public const string UserRegisterPolicy = "user-register";
    public const string GatewaysPolicy = "cluster-gateways";

    public static IServiceCollection AddApiRateLimits(this IServiceCollection services)
    {
        services.AddSingleton<HeartbeatLimiter>();
        services.AddSingleton<UserTokenLimiter>();
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(RegisterPolicy, http => PerAddress(http, o => o.RegisterPermitsPerMinute));
            o.AddPolicy(UserRegisterPolicy, http => PerAddress(http, o => o.RegisterPermitsPerMinute));
            o.AddPolicy(GatewaysPolicy, http => PerAddress(http, o => o.GatewaysPermitsPerMinute));
            o.OnRejected = async (context, ct) =>
            {
                var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
                await WriteAsync(context.HttpContext, "remote address", retry);
            };
        });
        return services;
    }

    private static RateLimitPartition<string> PerAddress(HttpContext http, Func<ApiOptions, int> permitsPerMinute)
    {
        var permits = permitsPerMinute(http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value);
        return RateLimitPartition.GetFixedWindowLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
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

/// <summary>A token bucket per user: the tokens a user may ask of the network per minute, refilled continuously.</summary>
public sealed class UserTokenLimiter(IOptions<ApiOptions> options) : IDisposable
{
    public int PerMinute => options.Value.UserTokensPerMinute;

    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(userId =>
        RateLimitPartition.GetTokenBucketLimiter(userId, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.Value.UserTokensPerMinute,
            TokensPerPeriod = Math.Max(1, options.Value.UserTokensPerMinute / 60),
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    /// <summary>Null when <paramref name="tokens"/> (at most <see cref="PerMinute"/>) are granted; otherwise how long to wait.</summary>
    public TimeSpan? Take(string userId, int tokens)
    {
        using var lease = _limiter.AttemptAcquire(userId, tokens);
        if (lease.IsAcquired) return null;
        return lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
    }

    public void Dispose() => _limiter.Dispose();
}
