using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Configuration;
using Orleans.Connections.Security;
using Regatta.Security;

namespace Regatta.Silo.Security;

/// <summary>
/// The silo's certificate settings, section <c>Regatta:Tls</c>: a PFX (<c>CertificatePath</c> + <c>CertificatePassword</c>)
/// or a PEM pair (<c>CertificatePemPath</c> + <c>KeyPemPath</c>). Neither: local mode makes a self-signed certificate in
/// the data folder; production mode refuses to start.
/// </summary>
public sealed record SiloTlsSettings
{
    public const string Section = "Tls";

    public string? CertificatePath { get; init; }
    /// <summary>Secret: never logged or put in an error message.</summary>
    public string? CertificatePassword { get; init; }
    public string? CertificatePemPath { get; init; }
    public string? KeyPemPath { get; init; }

    public bool HasCertificate => CertificatePath is not null || CertificatePemPath is not null;

    /// <param name="regatta">Configuration section "Regatta".</param>
    public static SiloTlsSettings From(IConfiguration regatta, StorageKind storage)
    {
        var tls = regatta.GetSection(Section);
        string? Value(string key) => string.IsNullOrWhiteSpace(tls[key]) ? null : tls[key]!.Trim();
        var settings = new SiloTlsSettings
        {
            CertificatePath = Value(nameof(CertificatePath)),
            // Not trimmed: a password may end in a space.
            CertificatePassword = string.IsNullOrEmpty(tls[nameof(CertificatePassword)]) ? null : tls[nameof(CertificatePassword)],
            CertificatePemPath = Value(nameof(CertificatePemPath)),
            KeyPemPath = Value(nameof(KeyPemPath)),
        };
        if (settings.CertificatePath is not null && (settings.CertificatePemPath is not null || settings.KeyPemPath is not null))
            throw new InvalidOperationException("Set either Regatta:Tls:CertificatePath (PFX) or Regatta:Tls:CertificatePemPath + Regatta:Tls:KeyPemPath (PEM), not both");
        if (settings.CertificatePassword is not null && settings.CertificatePath is null)
            throw new InvalidOperationException("Regatta:Tls:CertificatePassword is set but Regatta:Tls:CertificatePath (the PFX it opens) is not");
        if ((settings.CertificatePemPath is null) != (settings.KeyPemPath is null))
            throw new InvalidOperationException("Regatta:Tls:CertificatePemPath and Regatta:Tls:KeyPemPath go together: set both (the certificate and its private key, PEM) or neither");
        if (storage == StorageKind.Postgres && !settings.HasCertificate)
            throw new InvalidOperationException(
                "Production mode (Regatta:Storage=Postgres) needs a TLS certificate for the Orleans gateway and silo-to-silo traffic: " +
                "set Regatta:Tls:CertificatePath (PFX) and Regatta:Tls:CertificatePassword, or Regatta:Tls:CertificatePemPath and Regatta:Tls:KeyPemPath " +
                "(env Regatta__Tls__CertificatePath, ...). See docs/deploy.md, section TLS.");
        return settings;
    }
}

/// <summary>The certificate a silo serves, and where it came from (for the startup log).</summary>
public sealed record SiloCertificate(X509Certificate2 Certificate, string Sha256, string Source);

/// <summary>
/// TLS on every Orleans connection of a silo (Microsoft.Orleans.Connections.Security):
/// <list type="bullet">
/// <item>Gateway (agents, operator commands): server TLS only. Clients present no certificate (agents are identified by a
/// credential on each call, not at the transport), and a client that does not speak TLS fails the handshake.</item>
/// <item>Silo to silo: mutual TLS with the cluster's one certificate. Both ends present it and accept only a peer whose
/// leaf certificate has the same SHA-256 as their own, so joining the silo port needs the certificate's private key
/// (an agent machine cannot pose as a silo), with no CA or host names involved (silos are addressed by IP).</item>
/// </list>
/// </summary>
public static class SiloTls
{
    public const string LocalCertificateFile = "silo-cert.pfx";
    public const string LocalFingerprintFile = "silo-cert.sha256";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    public static ISiloBuilder UseRegattaTls(this ISiloBuilder silo, SiloTlsSettings settings, string dataDir)
    {
        var served = Load(settings, dataDir);
        silo.Services.AddSingleton(served);
        silo.Services.AddHostedService<CertificateLog>();
        var certificate = served.Certificate;
        var pin = Convert.FromHexString(served.Sha256);
        silo.Configure<SiloConnectionOptions>(o =>
        {
            o.ConfigureGatewayInboundConnection(c => c.UseServerTls(new TlsOptions
            {
                LocalCertificate = certificate,
                RemoteCertificateMode = RemoteCertificateMode.NoCertificate,
            }));
            o.ConfigureSiloInboundConnection(c => c.UseServerTls(PeerOptions(certificate, pin)));
            o.ConfigureSiloOutboundConnection(c => c.UseClientTls(PeerOptions(certificate, pin)));
        });
        return silo;
    }

    private static TlsOptions PeerOptions(X509Certificate2 certificate, byte[] pin) => new()
    {
        LocalCertificate = certificate,
        RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
        ClientCertificateMode = RemoteCertificateMode.RequireCertificate,
        // The pin replaces chain and name checks: peers are the holders of this very certificate.
        RemoteCertificateValidation = (remote, _, _) => CryptographicOperations.FixedTimeEquals(SHA256.HashData(remote.RawData), pin),
    };

    /// <summary>Lowercase hex SHA-256 of the DER certificate: what agents pin with --silo-cert-sha256.</summary>
    public static string Sha256(X509Certificate2 certificate) => Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));

    public static SiloCertificate Load(SiloTlsSettings settings, string dataDir)
    {
        if (settings.CertificatePath is { } pfx)
        {
            var certificate = Open("Regatta:Tls:CertificatePath", pfx,
                () => X509CertificateLoader.LoadPkcs12FromFile(pfx, settings.CertificatePassword), "a PFX that Regatta:Tls:CertificatePassword opens");
            return Checked(certificate, "Regatta:Tls:CertificatePath", pfx);
        }
        if (settings.CertificatePemPath is { } pem)
        {
            if (!File.Exists(settings.KeyPemPath))
                throw new InvalidOperationException($"Regatta:Tls:KeyPemPath '{settings.KeyPemPath}' does not exist");
            var certificate = Open("Regatta:Tls:CertificatePemPath", pem,
                () => X509Certificate2.CreateFromPemFile(pem, settings.KeyPemPath), "a PEM certificate whose private key is in Regatta:Tls:KeyPemPath");
            return Checked(certificate, "Regatta:Tls:CertificatePemPath", pem);
        }
        return EnsureLocalCertificate(dataDir);
    }

    private static X509Certificate2 Open(string key, string path, Func<X509Certificate2> load, string expected)
    {
        if (!File.Exists(path)) throw new InvalidOperationException($"{key} '{path}' does not exist");
        try
        {
            return load();
        }
        catch (CryptographicException e)
        {
            // The exception's message never contains the password.
            throw new InvalidOperationException($"{key} '{path}' could not be loaded as {expected}: {e.Message}", e);
        }
    }

    private static SiloCertificate Checked(X509Certificate2 certificate, string key, string path)
    {
        if (!certificate.HasPrivateKey)
            throw new InvalidOperationException($"{key} '{path}': the certificate has no private key");
        var now = DateTime.Now;
        if (certificate.NotAfter < now || certificate.NotBefore > now)
            throw new InvalidOperationException($"{key} '{path}': the certificate is valid from {certificate.NotBefore:u} to {certificate.NotAfter:u}, not now");
        // Silos present it as a client certificate to each other, agents check it as a server certificate.
        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().SingleOrDefault()?.EnhancedKeyUsages;
        if (usages is not null && (usages[ServerAuthOid] is null || usages[ClientAuthOid] is null))
            throw new InvalidOperationException($"{key} '{path}': the certificate's extended key usage must allow both server and client authentication (silos use it both ways)");
        return new SiloCertificate(certificate, Sha256(certificate), path);
    }

    /// <summary>
    /// Local mode: <c>{dataDir}/silo-cert.pfx</c>, made on first start (self-signed, ECDSA P-256, localhost 127.0.0.1 ::1,
    /// 10 years; 0600; no password, the file mode guards it) and reused after; its fingerprint goes to
    /// <c>{dataDir}/silo-cert.sha256</c> for scripts to pin. Several silos on one folder agree: the first file written wins.
    /// </summary>
    public static SiloCertificate EnsureLocalCertificate(string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        var path = Path.Combine(dataDir, LocalCertificateFile);
        // Another silo sharing the folder may get there first: its file then wins.
        if (!File.Exists(path)) PrivateFile.Write(path, CreateSelfSigned().Export(X509ContentType.Pkcs12), overwrite: false);
        else PrivateFile.Tighten(path); // a private key readable by others
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password: null);
        }
        catch (CryptographicException e)
        {
            throw new InvalidOperationException($"{path} is not a readable certificate (delete it to make a new one; agents that pinned the old one need the new fingerprint): {e.Message}", e);
        }
        var served = Checked(certificate, "local certificate", path);
        var fingerprintPath = Path.Combine(dataDir, LocalFingerprintFile);
        if (!File.Exists(fingerprintPath) || File.ReadAllText(fingerprintPath).Trim() != served.Sha256)
        {
            var temp = Path.Combine(dataDir, $".{LocalFingerprintFile}.{Guid.NewGuid():N}.tmp");
            File.WriteAllText(temp, served.Sha256 + "\n");
            File.Move(temp, fingerprintPath, overwrite: true);
        }
        return served;
    }

    private static X509Certificate2 CreateSelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Regatta local silo", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddIpAddress(System.Net.IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid), new Oid(ClientAuthOid)], false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
    }

    /// <summary>Says which certificate the silo serves, once it starts (the silo builder has no logger yet).</summary>
    private sealed class CertificateLog(SiloCertificate served, ILogger<CertificateLog> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            logger.LogInformation("TLS on the Orleans gateway and between silos: certificate {Subject} from {Source}, SHA-256 {Sha256}, valid until {NotAfter:u}",
                served.Certificate.Subject, served.Source, served.Sha256, served.Certificate.NotAfter);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
