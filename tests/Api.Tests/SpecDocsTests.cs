using System.Net;
using System.Reflection;
using System.Text.Json;
using Regatta.Runs;

namespace Regatta.Api.Tests;

/// <summary>The run spec documentation and examples stay true: every example is accepted, every field is documented.</summary>
[Collection(ApiCollection.Name)]
public sealed class SpecDocsTests(ApiSilo silo)
{
    private static readonly string Root = RepositoryRoot();

    public static TheoryData<string> Examples() => [.. Directory.GetFiles(Path.Combine(Root, "deploy", "examples"), "*.yaml").Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Every_example_spec_is_accepted_over_http(string file)
    {
        using var admin = silo.Admin();
        var yaml = await File.ReadAllTextAsync(Path.Combine(Root, "deploy", "examples", file));
        var created = await admin.PostAsync($"/api/runs?id={Http.NewId("example")}", Http.Yaml(yaml)).Expect(HttpStatusCode.Created);
        Assert.Equal(Path.GetFileNameWithoutExtension(file), created.Str("name"));
    }

    [Fact]
    public async Task The_documented_error_example_gives_the_documented_errors()
    {
        using var admin = silo.Admin();
        var doc = await File.ReadAllTextAsync(Path.Combine(Root, "docs", "run-spec.md"));
        var yaml = Block(doc, "```yaml\nname: broken", "```");
        var expected = JsonDocument.Parse(Block(doc, "```json\n{ \"title\"", "```")).RootElement.GetProperty("errors");

        using var response = await admin.PostAsync($"/api/runs?id={Http.NewId("broken")}", Http.Yaml(yaml));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
        Assert.Equal(JsonSerializer.Serialize(expected), JsonSerializer.Serialize(errors));
    }

    [Fact]
    public void Every_spec_field_is_documented()
    {
        var doc = File.ReadAllText(Path.Combine(Root, "docs", "run-spec.md"));
        var missing = Fields(typeof(RunSpec), "").Where(f => !doc.Contains($"| `{f}` |", StringComparison.Ordinal)).ToList();
        Assert.Empty(missing);
    }

    private static IEnumerable<string> Fields(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var path = prefix + char.ToLowerInvariant(property.Name[0]) + property.Name[1..];
            yield return path;
            if (property.PropertyType.Namespace == typeof(RunSpec).Namespace && property.PropertyType.IsClass)
                foreach (var inner in Fields(property.PropertyType, path + ".")) yield return inner;
        }
    }

    private static string Block(string doc, string start, string end)
    {
        var from = doc.IndexOf(start, StringComparison.Ordinal);
        Assert.True(from >= 0, $"'{start}' not in the doc");
        from = doc.IndexOf('\n', from) + 1;
        var to = doc.IndexOf(end, from, StringComparison.Ordinal);
        return doc[from..to];
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.sln"))) return dir.FullName;
        throw new InvalidOperationException("the repository root (Orleans.sln) is not above " + AppContext.BaseDirectory);
    }
}
