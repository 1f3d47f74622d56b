using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Regatta.Silo;
using Regatta.Silo.Api;
using Regatta.Silo.Production;
using Regatta.Tests;

namespace Regatta.Api.Tests;

/// <summary>Generated secrets go to their 0600 files and never to the log; production refuses the deploy files' example secrets.</summary>
public sealed class SecretTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("regatta-secrets-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_generated_admin_key_is_logged_by_its_path_only()
    {
        var log = new ListLogger();

        var key = AdminApiKey.Resolve(null, _dir, log);

        var path = Path.Combine(_dir, AdminApiKey.FileName);
        var secret = File.ReadAllText(path).Trim();
        Assert.True(key.Matches(secret));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var line = Assert.Single(log.Lines);
        Assert.Equal($"No Regatta:AdminApiKey configured: generated admin API key saved to {path} (mode 0600)", line);
        Assert.DoesNotContain(secret, string.Join("\n", log.Lines));

        AdminApiKey.Resolve(null, _dir, log); // a restart reads it back, and says where from
        Assert.DoesNotContain(secret, string.Join("\n", log.Lines));
    }

    [Theory]
    [InlineData("dev-admin-key-change-me")]            // deploy/compose.yaml
    [InlineData("CHANGE-ME-at-least-16-characters")]   // deploy/k8s/secrets.example.yaml
    public void Production_mode_refuses_an_example_admin_key(string key)
    {
        var pfx = TestCertificates.WritePfx(Path.Combine(_dir, "silo.pfx"), "pfx-password");
        (string, string)[] tls = [("Tls:CertificatePath", pfx), ("Tls:CertificatePassword", "pfx-password")];
        var error = Assert.Throws<InvalidOperationException>(() => SiloSettings.From(Section([("Storage", "Postgres"), ("AdminApiKey", key), .. tls])));

        Assert.StartsWith("Regatta:AdminApiKey is an example value from the deploy files", error.Message);
        Assert.DoesNotContain(key, error.Message);
        Assert.Equal(key, SiloSettings.From(Section(("Storage", "Sqlite"), ("AdminApiKey", key))).AdminApiKey); // local mode may
        Assert.NotNull(SiloSettings.From(Section([("Storage", "Postgres"), ("AdminApiKey", "a-real-key-of-our-own-0123"), .. tls])));
    }

    [Fact]
    public void Production_mode_refuses_the_compose_database_password()
    {
        Assert.Equal("regatta-dev-password", PostgresSiloSetup.DatabasePassword(
            "Host=postgres;Port=5432;Username=regatta;Password=regatta-dev-password;Database=regatta"));
        Assert.True(PlaceholderSecrets.IsPlaceholder(PostgresSiloSetup.DatabasePassword(
            "Host=postgres;Username=regatta;Password=regatta-dev-password;Database=regatta")));
        Assert.False(PlaceholderSecrets.IsPlaceholder(PostgresSiloSetup.DatabasePassword(
            "Host=postgres;Username=regatta;Password=k7Qe9-our-own;Database=regatta")));
        Assert.Null(PostgresSiloSetup.DatabasePassword(null));
    }

    private static IConfiguration Section(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    /// <summary>Keeps every formatted log line.</summary>
    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
