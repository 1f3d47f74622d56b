using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Regatta.Grains.Telemetry;
using Regatta.Silo.Production;

namespace Regatta.Silo;

/// <summary>
/// Metrics through OpenTelemetry: Regatta's meter and Orleans' and ASP.NET Core's own, scraped by Prometheus at /metrics,
/// and pushed over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter reads the other OTEL_* variables itself).
/// </summary>
public static class MetricsSetup
{
    public const string ScrapePath = "/metrics";

    public static WebApplicationBuilder AddRegattaMetrics(this WebApplicationBuilder builder)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("regatta-silo", serviceInstanceId: Environment.MachineName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(RegattaMetrics.MeterName, "Microsoft.Orleans", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel");
                metrics.AddPrometheusExporter();
                if (otlp) metrics.AddOtlpExporter();
            });
        builder.Services.AddHostedService<WorkerCountsPoller>();
        return builder;
    }

    /// <summary>The Prometheus scrape endpoint at <see cref="ScrapePath"/>.</summary>
    public static WebApplication MapRegattaMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint(ScrapePath);
        return app;
    }
}
