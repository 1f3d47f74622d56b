using System.Text.Json;

namespace Regatta.Api.Tests;

[Collection(ApiCollection.Name)]
public sealed class OpenApiTests(ApiSilo silo)
{
    /// <summary>The API's surface, as docs/api.md lists it.</summary>
    public static readonly string[] Endpoints =
    [
        "GET /api", "GET /api/dashboard",
        "GET /api/network/info", "GET /api/network/health", "GET /api/network/stats",
        "PUT /api/network/quantization", "GET /api/network/target-workers", "PUT /api/network/target-workers",
        "POST /api/runs", "GET /api/runs", "GET /api/runs/{id}",
        "POST /api/runs/{id}/start", "POST /api/runs/{id}/pause", "POST /api/runs/{id}/resume", "POST /api/runs/{id}/cancel",
        "GET /api/runs/{id}/rounds", "GET /api/runs/{id}/metrics", "GET /api/runs/{id}/jobs", "GET /api/runs/{id}/reports",
        "POST /api/runs/{id}/restore", "GET /api/runs/{id}/checkpoints/{round}/model.safetensors", "GET /api/runs/{id}/checkpoints/{round}/config.json",
        "GET /api/workers", "POST /api/workers/register", "POST /api/workers/heartbeat",
        "POST /api/workers/{id}/approve", "POST /api/workers/{id}/reject", "DELETE /api/workers/{id}",
        "POST /api/users/register", "GET /api/users/{id}", "POST /api/usage/log", "GET /api/usage/recent",
        "POST /api/reports",
        "GET /api/network/assignments", "GET /api/network/model", "PUT /api/network/model", "PUT /api/network/replication",
        "POST /api/inference/generate",
        "GET /api/cluster/gateways",
    ];

    [Fact]
    public async Task The_openapi_document_lists_exactly_the_api_endpoints_with_their_bodies()
    {
        using var client = silo.Anonymous();
        var document = await client.GetAsync("/openapi/v1.json").Expect();

        var paths = document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(m => $"{m.Name.ToUpperInvariant()} {p.Name}")).Order().ToList();
        Assert.Equal(Endpoints.Order(), paths);
        var submit = document.GetProperty("paths").GetProperty("/api/runs").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(submit.TryGetProperty("application/yaml", out _));
        Assert.True(submit.TryGetProperty("application/json", out _));
        var registration = document.GetProperty("components").GetProperty("schemas").GetProperty("WorkerRegistrationRequest").GetProperty("properties");
        Assert.True(registration.TryGetProperty("worker_id", out _));
        Assert.True(registration.TryGetProperty("hardware_type", out _));
        Assert.Equal(JsonValueKind.Object, document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").ValueKind);
    }
}
