using Microsoft.AspNetCore.Http.Json;
using Regatta.Grains.Network;
using Regatta.Silo.Api;

namespace Regatta.Silo;

public static class ApiServices
{
    /// <summary>The REST API's services: JSON rules, problem details, OpenAPI, rate limits, the admin key and options.</summary>
    public static WebApplicationBuilder AddRegattaApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<ApiOptions>(builder.Configuration.GetSection(ApiOptions.Section));
        services.Configure<NetworkOptions>(builder.Configuration.GetSection(NetworkOptions.Section));
        services.Configure<JsonOptions>(o => ApiJson.Configure(o.SerializerOptions));
        services.AddProblemDetails(o =>
        {
            var earlier = o.CustomizeProblemDetails; // other parts of the host may customise problems too
            o.CustomizeProblemDetails = context =>
            {
                earlier?.Invoke(context);
                NameRoutingFault(context);
            };
        });
        services.AddApiRateLimits();
        services.AddSingleton<ApiMetrics>();
        services.AddSingleton(sp =>
        {
            var settings = SiloSettings.From(builder.Configuration.GetSection("Regatta"));
            return AdminApiKey.Resolve(builder.Configuration["Regatta:AdminApiKey"], settings.DataDir,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("Regatta.Api"));
        });
        services.AddRegattaOpenApi();
        return builder;
    }

    /// <summary>Routing's own refusals under /api (no such path, wrong method, a body type not taken) name what was at fault too.</summary>
    private static void NameRoutingFault(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        if (context.ProblemDetails is not HttpValidationProblemDetails && http.Request.Path.StartsWithSegments("/api")
            && context.ProblemDetails.Status is 404 or 405 or 415)
        {
            var (field, message) = context.ProblemDetails.Status switch
            {
                404 => ("path", $"no endpoint {http.Request.Path}; see /openapi/v1.json"),
                405 => ("method", $"{http.Request.Method} is not allowed on {http.Request.Path}"),
                // Endpoints declare the bodies they accept; routing refuses others before the handler runs.
                _ => ("Content-Type", $"'{http.Request.ContentType}' is not accepted by {http.Request.Method} {http.Request.Path}; " +
                                      "send application/json (or application/yaml for run specs)"),
            };
            context.ProblemDetails.Detail = $"{field}: {message}";
            context.ProblemDetails.Extensions["errors"] = new Dictionary<string, string[]> { [field] = [message] };
        }
    }
}
