using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Regatta.Tests;

/// <summary>Certificates for silos that must be given one (production mode): what an operator would mount.</summary>
public static class TestCertificates
{
    /// <summary>
    /// Writes a self-signed silo certificate (localhost, 127.0.0.1; server and client authentication, as silos use it
    /// both ways) as a password-protected PFX; returns its SHA-256, lowercase hex, for clients to pin.
    /// </summary>
    public static string WritePfx(string path, string password)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Regatta test silo", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }

    /// <summary>
    /// A CA (<c>{name}-ca.pem</c>) and a silo certificate it issued (<c>{name}.crt</c> + <c>{name}.key</c>, PEM; localhost,
    /// 127.0.0.1; server and client authentication) in <paramref name="dir"/>; returns the three paths.
    /// </summary>
    public static (string Ca, string Certificate, string Key) WriteCaIssuedPem(string dir, string name)
    {
        Directory.CreateDirectory(dir);
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN=Regatta test CA {name}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(60));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var issued = request.Create(ca, now.AddHours(-1), now.AddDays(30), RandomNumberGenerator.GetBytes(12));

        var paths = (Path.Combine(dir, $"{name}-ca.pem"), Path.Combine(dir, $"{name}.crt"), Path.Combine(dir, $"{name}.key"));
        File.WriteAllText(paths.Item1, ca.ExportCertificatePem());
        File.WriteAllText(paths.Item2, issued.ExportCertificatePem());
        File.WriteAllText(paths.Item3, key.ExportPkcs8PrivateKeyPem());
        return paths;
    }
}
