using Microsoft.OpenApi;

namespace Regatta.Silo.Api;

public static class ApiOpenApi
{
    /// <summary>The OpenAPI document at /openapi/v1.json: only /api, with the bearer scheme and durations described.</summary>
    public static IServiceCollection AddRegattaOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(o =>
        {
            o.ShouldInclude = description => description.RelativePath?.StartsWith("api", StringComparison.Ordinal) == true;
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "Regatta API";
                document.Info.Description = "Runs, workers, the volunteer inference network, users, usage and reports. " +
                    "Mutating endpoints need 'Authorization: Bearer <admin API key>'; worker endpoints the worker's token. " +
                    "Every 4xx is an RFC 7807 problem whose 'errors' name the fields at fault.";
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "The admin API key (Regatta:AdminApiKey or {DataDir}/admin-api-key), or a worker token from POST /api/workers/register",
                };
                return Task.CompletedTask;
            });
            o.AddSchemaTransformer((schema, context, _) =>
            {
                // Durations are written "30s", "2m", "500ms" as in the YAML spec (or a number of seconds).
                if (context.JsonTypeInfo.Type == typeof(TimeSpan))
                {
                    schema.Type = JsonSchemaType.String;
                    schema.Description = "A duration: \"30s\", \"2m\", \"1h\", \"500ms\", or a number of seconds";
                }
                return Task.CompletedTask;
            });
        });
}
