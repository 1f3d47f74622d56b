using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace Regatta.WorkerAgent;

/// <summary>
/// How a client verifies the silo's TLS certificate on the gateway: a pinned SHA-256 of the leaf (<c>--silo-cert-sha256</c>,
/// e.g. a local silo's self-signed certificate), a CA bundle (<c>--silo-ca</c>), or else the system trust store. Clients
/// present no certificate of their own.
/// </summary>
public sealed class SiloTrust
{
    private SiloTrust(byte[]? pin, X509Certificate2Collection? authorities, string? targetHost)
    {
        Pin = pin;
        Authorities = authorities;
        TargetHost = targetHost;
    }

    /// <summary>SHA-256 of the DER leaf certificate the silo must present, or null.</summary>
    public byte[]? Pin { get; }
    /// <summary>The CA certificates the silo's chain must end in, or null.</summary>
    public X509Certificate2Collection? Authorities { get; }
    /// <summary>The name the certificate must carry (and SNI); null: the address each connection goes to.</summary>
    public string? TargetHost { get; }

    /// <param name="sha256">--silo-cert-sha256: 64 hex digits, colons and case ignored.</param>
    /// <param name="caPath">--silo-ca: a PEM file of CA certificates.</param>
    /// <param name="targetHost">--silo-tls-name, else the host of --coordinator; null in cluster-db mode.</param>
    public static SiloTrust From(string? sha256, string? caPath, string? targetHost)
    {
        if (sha256 is not null && caPath is not null)
            throw new ArgumentException("--silo-cert-sha256 and --silo-ca are alternatives: pin the silo's certificate or trust a CA, not both");
        var pin = sha256 is null ? null : ParseSha256(sha256, "--silo-cert-sha256");
        var authorities = caPath is null ? null : LoadAuthorities(caPath);
        if (targetHost is not null && Uri.CheckHostName(targetHost) == UriHostNameType.Unknown)
            throw new ArgumentException($"--silo-tls-name '{targetHost}' is not a host name or IP address");
        return new SiloTrust(pin, authorities, targetHost);
    }

    /// <summary>A fingerprint as 32 bytes from 64 hex digits; colons, spaces and case are tolerated (openssl prints AB:CD:...).</summary>
    public static byte[] ParseSha256(string text, string flag)
    {
        var hex = text.Replace(":", "").Replace(" ", "").Trim();
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            throw new ArgumentException($"{flag} must be the certificate's SHA-256 as 64 hex digits (colons allowed), not '{text.Trim()}'");
        return Convert.FromHexString(hex);
    }

    /// <summary>The fingerprint from a file (the local silo writes <c>{DataDir}/silo-cert.sha256</c>), for --silo-cert-sha256-file.</summary>
    public static string ReadSha256File(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("--silo-cert-sha256-file needs a file path");
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--silo-cert-sha256-file '{path}' cannot be read: {e.Message}", e);
        }
    }

    private static X509Certificate2Collection LoadAuthorities(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("--silo-ca needs the path of a PEM file");
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ArgumentException($"--silo-ca '{path}' is not a readable PEM file of CA certificates: {e.Message}", e);
        }
        if (authorities.Count == 0) throw new ArgumentException($"--silo-ca '{path}' has no PEM certificate in it");
        return authorities;
    }

    /// <summary>TLS on every connection this client opens to a gateway.</summary>
    public void Apply(IClientBuilder client) => client.UseTls(options =>
    {
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.NoCertificate;
        options.OnAuthenticateAsClient = (context, ssl) =>
            ssl.TargetHost = TargetHost ?? (context.RemoteEndPoint as IPEndPoint)?.Address.ToString();
        // With a validator set, the middleware leaves every check to it (chain and name errors included).
        if (Pin is { } pin)
            options.RemoteCertificateValidation = (certificate, _, _) =>
                CryptographicOperations.FixedTimeEquals(SHA256.HashData(certificate.RawData), pin);
        else if (Authorities is { } authorities)
            options.RemoteCertificateValidation = (certificate, presented, errors) => ChainsTo(authorities, certificate, presented, errors);
        // else: no validator, so the middleware accepts only a certificate with no policy errors against the system store.
    });

    /// <summary>The name must match and the chain must end in one of <paramref name="authorities"/>, and no other root.</summary>
    private static bool ChainsTo(X509Certificate2Collection authorities, X509Certificate2 certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        // Intermediates the silo sent along.
        if (presented is not null)
            foreach (var element in presented.ChainElements)
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        return chain.Build(certificate);
    }
}
