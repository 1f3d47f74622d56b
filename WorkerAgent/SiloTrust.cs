using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
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
    /// <param name="targetHost">--silo-tls-name, else the host of --coordinator; null with --gateways-url (each gateway's address).</param>
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

    /// <summary>Where a refused silo certificate is reported (why, and the SHA-256 it had); set once the client's host is built.</summary>
    public ILogger? Log { get; set; }

    /// <summary>TLS on every connection this client opens to a gateway.</summary>
    public void Apply(IClientBuilder client) => client.UseTls(options =>
    {
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.NoCertificate;
        options.OnAuthenticateAsClient = (context, ssl) =>
            ssl.TargetHost = TargetHost ?? (context.RemoteEndPoint as IPEndPoint)?.Address.ToString();
        // With a validator set, the middleware leaves every check to it (chain and name errors included).
        options.RemoteCertificateValidation = Validate;
    });

    private bool Validate(X509Certificate2 certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        string? refusal;
        if (Pin is { } pin)
            // The pin replaces chain and name checks: it names the one certificate to accept.
            refusal = CryptographicOperations.FixedTimeEquals(SHA256.HashData(certificate.RawData), pin) ? null : "it is not the pinned one (--silo-cert-sha256)";
        else if (Authorities is { } authorities)
            refusal = ChainsTo(authorities, certificate, presented, errors);
        else
            refusal = errors == SslPolicyErrors.None ? null : $"the system trust store refuses it ({errors}; pin it with --silo-cert-sha256 or trust its CA with --silo-ca)";
        if (refusal is not null)
            Log?.LogWarning("Refused the silo's TLS certificate {Subject} (SHA-256 {Sha256}, name checked: {TargetHost}): {Reason}",
                certificate.Subject, Convert.ToHexStringLower(SHA256.HashData(certificate.RawData)), TargetHost ?? "the gateway's address", refusal);
        return refusal is null;
    }

    /// <summary>Null if the name matches and the chain ends in one of <paramref name="authorities"/> (and no other root); else why not.</summary>
    private static string? ChainsTo(X509Certificate2Collection authorities, X509Certificate2 certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return "it does not carry the name checked (set --silo-tls-name to the name it has)";
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        // Intermediates the silo sent along.
        if (presented is not null)
            foreach (var element in presented.ChainElements)
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        return chain.Build(certificate) ? null
            : "it does not chain to a CA of --silo-ca: " + string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Distinct());
    }
}
