using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Regatta.Runs;
using Regatta.Silo.Api;

namespace Regatta.Silo;

public static class ApiEndpoints
{
    /// <summary>
    /// Maps /api (runs, workers, network, users, usage, reports) and /openapi/v1.json. Under /api every refusal is
    /// an RFC 7807 problem: errors thrown by handlers and grains are mapped here, and empty 4xx answers from routing
    /// (unknown path, wrong method) get a problem body too.
    /// </summary>
    public static WebApplication MapRegattaApi(this WebApplication app)
    {
        app.Services.GetRequiredService<AdminApiKey>(); // made (and in local mode written) at start, not on the first request
        app.UseWhen(http => http.Request.Path.StartsWithSegments("/api"), api =>
        {
            api.Use((http, next) =>
            {
                // The server itself stops reading past the limit; ApiBody turns that into a 413 problem.
                if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
                    size.MaxRequestBodySize = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.MaxBodyBytes;
                return next(http);
            });
            api.UseExceptionHandler();
            api.UseStatusCodePages();
            api.UseRateLimiter();
        });
        app.MapOpenApi();

        var group = app.MapGroup("/api").AnswerProblems("Regatta.Api",
            (e, http) => ApiProblems.FromRegatta(e, http.Request.RouteValues.ContainsKey("id") ? "id" : null));
        group.MapNetworkEndpoints();
        group.MapRunEndpoints();
        group.MapWorkerEndpoints();
        group.MapUsageEndpoints();
        group.MapInferenceEndpoints();
        group.MapReportEndpoints();
        group.MapClusterEndpoints();
        return app;
    }

    public static RouteHandlerBuilder Problems(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses) builder.ProducesProblem(status);
        return builder;
    }
}
