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
}
