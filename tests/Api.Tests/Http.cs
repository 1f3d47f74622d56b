using System.Net;
using System.Text;
using System.Text.Json;

namespace Regatta.Api.Tests;

/// <summary>Request bodies and response checks shared by the API tests.</summary>
public static class Http
{
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
    public static StringContent Yaml(string yaml) => new(yaml, Encoding.UTF8, "application/yaml");

    /// <summary>The response has <paramref name="status"/> and a JSON body, which is returned.</summary>
    public static async Task<JsonElement> Expect(this Task<HttpResponseMessage> request, HttpStatusCode status = HttpStatusCode.OK)
    {
        using var response = await request;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>
    /// The response is an RFC 7807 problem with <paramref name="status"/> whose errors name <paramref name="field"/>;
    /// returns that field's first message so a test can check it says something useful.
    /// </summary>
    public static async Task<string> Problem(this Task<HttpResponseMessage> request, int status, string field)
    {
        using var response = await request;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), $"problem does not name '{field}': {text}");
        var message = messages[0].GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(message));
        return message;
    }

    public static string Str(this JsonElement e, string name) => e.GetProperty(name).GetString()!;
    public static int Int(this JsonElement e, string name) => e.GetProperty(name).GetInt32();
    public static long Long(this JsonElement e, string name) => e.GetProperty(name).GetInt64();

    /// <summary>A unique id per test so tests sharing one silo never see each other's runs and workers.</summary>
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 64)];
}
