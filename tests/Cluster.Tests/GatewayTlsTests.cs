using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Regatta.Silo;
using Regatta.Silo.Security;
using Regatta.Workers;
using Regatta.WorkerAgent;

namespace Regatta.Tests;

/// <summary>One TLS test cluster for the gateway tests of <see cref="GatewayTlsTests"/>.</summary>
public sealed class TlsClusterFixture : IAsyncLifetime
{
    public RegattaCluster Cluster { get; private set; } = null!;
    public IPEndPoint Gateway => Cluster.Cluster.Primary!.GatewayAddress!.Endpoint;

    public async ValueTask InitializeAsync() => Cluster = await RegattaCluster.StartAsync();
    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>
/// The Orleans gateway speaks TLS only (part 1 of "Untrusted agents"): real Orleans clients over real sockets against the
/// test cluster's gateway, which is set up by the app's own <see cref="SiloTls"/>, and the real silo process in local mode.
/// </summary>
public sealed class GatewayTlsTests(TlsClusterFixture fixture) : IClassFixture<TlsClusterFixture>
{
    /// <summary>Bounds a failure only: a refused client fails at its first attempt, well inside it.</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_plain_tcp_client_cannot_connect_to_the_gateway()
    {
        using var client = BareClient(fixture.Gateway, trust: null);

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => client.StartAsync(TestContext.Current.CancellationToken).WaitAsync(ConnectTimeout, TestContext.Current.CancellationToken));

        Assert.IsType<Orleans.Runtime.Messaging.ConnectionFailedException>(refused); // refused at the first attempt, not left hanging
    }

    [Fact]
    public async Task An_agent_pinning_the_silo_certificate_connects_and_calls_a_grain()
    {
        // The agent's own client (AgentHost), as `--silo-cert-sha256 AB:CD:...` gives it: colons and upper case are fine.
        var pin = string.Join(':', Convert.FromHexString(fixture.Cluster.CertificateSha256).Select(b => b.ToString("X2")));
        using var agent = AgentHost.Build(new AgentOptions
        {
            Coordinator = $"{fixture.Gateway.Address}:{fixture.Gateway.Port}",
            Name = "tls-agent",
            WorkerId = "tls-agent",
            CacheDir = Path.Combine(fixture.Cluster.DataDir, "tls-agent"),
            SiloCertSha256 = pin,
        }, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await agent.StartAsync(TestContext.Current.CancellationToken).WaitAsync(ConnectTimeout, TestContext.Current.CancellationToken);
        try
        {
            var view = await agent.Services.GetRequiredService<IClusterClient>().GetGrain<IWorkerGrain>("tls-agent").Register(Registration("tls-agent"));
            Assert.Equal("tls-agent", view.View.WorkerId);
        }
        finally
        {
            await agent.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_client_pinning_another_certificate_is_refused()
    {
        var wrong = Convert.FromHexString(fixture.Cluster.CertificateSha256);
        wrong[0] ^= 0xff;
        using var client = BareClient(fixture.Gateway, SiloTrust.From(Convert.ToHexString(wrong), caPath: null, targetHost: "localhost"));

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => client.StartAsync(TestContext.Current.CancellationToken).WaitAsync(ConnectTimeout, TestContext.Current.CancellationToken));

        Assert.IsType<Orleans.Runtime.Messaging.ConnectionFailedException>(refused);
    }

    [Fact]
    public async Task A_client_trusting_only_the_system_store_refuses_the_self_signed_certificate()
    {
        using var client = BareClient(fixture.Gateway, SiloTrust.From(sha256: null, caPath: null, targetHost: "localhost"));

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => client.StartAsync(TestContext.Current.CancellationToken).WaitAsync(ConnectTimeout, TestContext.Current.CancellationToken));

        Assert.IsType<Orleans.Runtime.Messaging.ConnectionFailedException>(refused);
    }

    [Fact]
    public async Task Two_silos_form_one_cluster_over_mutual_tls_with_the_shared_certificate()
    {
        await using var cluster = await RegattaCluster.StartAsync(silos: 2);

        var hosts = await Eventually.Until(() => cluster.Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true),
            h => h.Count == 2, what: "both silos active");

        Assert.Equal(2, hosts.Count);
        // A grain call that lands on either silo works through the cluster's own (pinned) client.
        foreach (var id in Enumerable.Range(0, 8).Select(i => $"tls-two-{i}"))
            Assert.Equal(id, (await cluster.Grains.GetGrain<IWorkerOperatorGrain>(id).GetView()).WorkerId);
    }

    [Theory]
    [InlineData("abc", "64 hex digits")]
    [InlineData("zz942938382f809a129168903b8a6b9d07d4001f23cbbb3b7089a37a9a44a95b8", "64 hex digits")]
    public void A_malformed_pin_is_refused_naming_the_flag(string pin, string message)
    {
        var refused = Assert.Throws<ArgumentException>(() => SiloTrust.From(pin, caPath: null, targetHost: null));
        Assert.Contains("--silo-cert-sha256", refused.Message);
        Assert.Contains(message, refused.Message);
    }

    [Fact]
    public void Pin_and_ca_are_alternatives_and_a_missing_ca_file_is_named()
    {
        var both = Assert.Throws<ArgumentException>(() => SiloTrust.From(new string('a', 64), "/nonexistent/ca.pem", targetHost: null));
        Assert.Contains("--silo-ca", both.Message);
        var missing = Assert.Throws<ArgumentException>(() => SiloTrust.From(sha256: null, "/nonexistent/ca.pem", targetHost: null));
        Assert.Contains("--silo-ca '/nonexistent/ca.pem'", missing.Message);
        var noFile = Assert.Throws<ArgumentException>(() => SiloTrust.ReadSha256File("/nonexistent/silo-cert.sha256"));
        Assert.Contains("--silo-cert-sha256-file '/nonexistent/silo-cert.sha256'", noFile.Message);
    }

    [Fact]
    public void Production_mode_without_a_certificate_refuses_to_start_naming_the_keys()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => SiloSettings.From(Config(new()
        {
            ["Storage"] = "Postgres",
            ["AdminApiKey"] = "a-long-enough-admin-key",
        })));

        foreach (var key in new[] { "Regatta:Tls:CertificatePath", "Regatta:Tls:CertificatePassword", "Regatta:Tls:CertificatePemPath", "Regatta:Tls:KeyPemPath" })
            Assert.Contains(key, refused.Message);
    }

    [Theory]
    [InlineData("CertificatePassword", "secret-pfx-password", "CertificatePath")]
    [InlineData("CertificatePemPath", "/tmp/cert.pem", "KeyPemPath")]
    public void Half_a_certificate_setting_is_refused_naming_the_missing_key(string key, string value, string missing)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => SiloSettings.From(Config(new() { [$"Tls:{key}"] = value })));

        Assert.Contains($"Regatta:Tls:{missing}", refused.Message);
        Assert.DoesNotContain("secret-pfx-password", refused.Message);
    }

    [Fact]
    public void A_pfx_with_the_wrong_password_is_refused_without_showing_the_password()
    {
        var dir = Directory.CreateTempSubdirectory("regatta-tls-pfx-").FullName;
        try
        {
            var pfx = Path.Combine(dir, "silo.pfx");
            using (var local = SiloTls.EnsureLocalCertificate(dir).Certificate)
                File.WriteAllBytes(pfx, local.Export(X509ContentType.Pkcs12, "right-password"));
            var settings = SiloSettings.From(Config(new()
            {
                ["Tls:CertificatePath"] = pfx,
                ["Tls:CertificatePassword"] = "wrong-password",
            })).Tls;

            var refused = Assert.Throws<InvalidOperationException>(() => SiloTls.Load(settings, dir));

            Assert.Contains("Regatta:Tls:CertificatePath", refused.Message);
            Assert.DoesNotContain("wrong-password", refused.Message);
            Assert.Equal(SiloTls.Sha256(SiloTls.Load(settings with { CertificatePassword = "right-password" }, dir).Certificate),
                File.ReadAllText(Path.Combine(dir, SiloTls.LocalFingerprintFile)).Trim());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task The_local_silo_makes_a_private_self_signed_certificate_once_and_serves_it_after_a_restart()
    {
        var workDir = Directory.CreateTempSubdirectory("regatta-tls-local-").FullName;
        var dataDir = Path.Combine(workDir, "data");
        var ports = SiloPorts.Free();
        var environment = new Dictionary<string, string>
        {
            ["Regatta__DataDir"] = dataDir,
            ["Regatta__SiloPort"] = ports.Silo.ToString(),
            ["Regatta__GatewayPort"] = ports.Gateway.ToString(),
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ports.Http}",
        };
        try
        {
            string first;
            await using (var silo = await SiloProcess.StartAsync("tls-local-1", ports, environment, workDir))
            {
                var pfx = Path.Combine(dataDir, SiloTls.LocalCertificateFile);
                if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(pfx));
                first = File.ReadAllText(Path.Combine(dataDir, SiloTls.LocalFingerprintFile));
                Assert.Matches("^[0-9a-f]{64}\n?$", first);
                first = first.Trim();
                using (var certificate = X509CertificateLoader.LoadPkcs12FromFile(pfx, password: null))
                    Assert.Equal(first, Convert.ToHexStringLower(SHA256.HashData(certificate.RawData)));
                Assert.Contains($"SHA-256 {first}", silo.Log());
                await AssertAgentConnectsAsync(ports, first, workDir);
                await silo.StopAsync();
            }

            await using (var silo = await SiloProcess.StartAsync("tls-local-2", ports, environment, workDir))
            {
                Assert.Equal(first, File.ReadAllText(Path.Combine(dataDir, SiloTls.LocalFingerprintFile)).Trim());
                Assert.Contains($"SHA-256 {first}", silo.Log());
                // The agent's own way to pin a local silo: --silo-cert-sha256-file reads the same file.
                await AssertAgentConnectsAsync(ports, SiloTrust.ReadSha256File(Path.Combine(dataDir, SiloTls.LocalFingerprintFile)), workDir);
                await silo.StopAsync();
            }
        }
        finally
        {
            Directory.Delete(workDir, recursive: true);
        }
    }

    [Fact]
    public async Task An_agent_trusting_the_ca_that_issued_the_silo_certificate_connects_and_one_trusting_another_ca_is_refused()
    {
        var workDir = Directory.CreateTempSubdirectory("regatta-tls-ca-").FullName;
        var (ca, certificate, key) = TestCertificates.WriteCaIssuedPem(Path.Combine(workDir, "pki"), "silo");
        var (otherCa, _, _) = TestCertificates.WriteCaIssuedPem(Path.Combine(workDir, "pki"), "other");
        var ports = SiloPorts.Free();
        var environment = new Dictionary<string, string>
        {
            ["Regatta__DataDir"] = Path.Combine(workDir, "data"),
            ["Regatta__SiloPort"] = ports.Silo.ToString(),
            ["Regatta__GatewayPort"] = ports.Gateway.ToString(),
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ports.Http}",
            // A configured certificate wins over the local self-signed one, in local mode too.
            ["Regatta__Tls__CertificatePemPath"] = certificate,
            ["Regatta__Tls__KeyPemPath"] = key,
        };
        try
        {
            await using var silo = await SiloProcess.StartAsync("tls-ca", ports, environment, workDir);
            Assert.False(File.Exists(Path.Combine(workDir, "data", SiloTls.LocalCertificateFile)));

            await AssertAgentConnectsAsync(ports, sha256: null, workDir, siloCa: ca);

            var gateway = new IPEndPoint(IPAddress.Loopback, ports.Gateway);
            using (var refused = BareClient(gateway, SiloTrust.From(sha256: null, otherCa, targetHost: "localhost")))
                Assert.IsType<Orleans.Runtime.Messaging.ConnectionFailedException>(await Assert.ThrowsAnyAsync<Exception>(
                    () => refused.StartAsync(TestContext.Current.CancellationToken).WaitAsync(ConnectTimeout, TestContext.Current.CancellationToken)));
            // The right CA but a name the certificate does not carry.
            using (var misnamed = BareClient(gateway, SiloTrust.From(sha256: null, ca, targetHost: "regatta.example.org")))
                Assert.IsType<Orleans.Runtime.Messaging.ConnectionFailedException>(await Assert.ThrowsAnyAsync<Exception>(
                    () => misnamed.StartAsync(TestContext.Current.CancellationToken).WaitAsync(ConnectTimeout, TestContext.Current.CancellationToken)));
            await silo.StopAsync();
        }
        finally
        {
            Directory.Delete(workDir, recursive: true);
        }
    }

    private static async Task AssertAgentConnectsAsync(SiloPorts ports, string? sha256, string workDir, string? siloCa = null)
    {
        using var agent = AgentHost.Build(new AgentOptions
        {
            Coordinator = $"localhost:{ports.Gateway}",
            Name = "local-agent",
            WorkerId = "local-agent",
            CacheDir = Path.Combine(workDir, "agent"),
            SiloCertSha256 = sha256,
            SiloCa = siloCa,
        }, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await agent.StartAsync(TestContext.Current.CancellationToken).WaitAsync(ConnectTimeout, TestContext.Current.CancellationToken);
        var view = await agent.Services.GetRequiredService<IClusterClient>().GetGrain<IWorkerGrain>("local-agent").Register(Registration("local-agent"));
        Assert.Equal("local-agent", view.View.WorkerId);
        // Kept as the agent keeps it: after the silo's restart the same worker registers with it.
        if (view.Credential is { } issued) agent.Services.GetRequiredService<WorkerCredential>().Store(issued);
        await agent.StopAsync(CancellationToken.None);
    }

    private static IConfiguration Config(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    /// <summary>An Orleans client that never retries its first connection (the agent's retries forever), so a refused one fails StartAsync.</summary>
    private static IHost BareClient(IPEndPoint gateway, SiloTrust? trust)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(gateway);
            client.Configure<ClusterOptions>(o => { o.ClusterId = "regatta"; o.ServiceId = "regatta"; });
            client.UseConnectionRetryFilter((_, _) => Task.FromResult(false));
            trust?.Apply(client);
        });
        return builder.Build();
    }

    /// <summary>A first registration: what an agent without a credential may call.</summary>
    private static WorkerRegistration Registration(string name) => new()
    {
        Name = name,
        Hardware = new Hardware { DeviceKind = "cpu", DeviceName = "test", CpuCores = 2, RamBytes = 1 << 30, AgentVersion = "test" },
    };
}
