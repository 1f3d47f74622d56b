using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Orleans.Messaging;

namespace Regatta.WorkerAgent;

/// <summary>
/// How an agent finds the cluster's gateways without any credential: a static list (<c>--coordinator</c>), or the
/// silo's anonymous <c>GET /api/cluster/gateways</c> (<c>--gateways-url</c>). Both are outside input and checked here.
/// </summary>
public static class GatewayList
{
    public const int MaxGateways = 256;
    public const int MaxUrls = 16;
    public const string GatewaysPath = "api/cluster/gateways";

    /// <summary><c>host:port[,host:port...]</c>; a host name is resolved now, a missing port is 30000.</summary>
    public static IPEndPoint[] ParseStatic(string coordinator)
    {
        var entries = coordinator.Split(',', StringSplitOptions.TrimEntries);
        if (entries.Length > MaxGateways)
            throw new ArgumentException($"--coordinator: at most {MaxGateways} gateways");
        if (entries.Any(e => e.Length == 0))
            throw new ArgumentException($"--coordinator '{coordinator}': expected host:port[,host:port...] without empty entries");
        try
        {
            return [.. entries.Select(AgentHost.ParseGateway).Distinct()];
        }
        catch (SocketException e)
        {
            throw new ArgumentException($"--coordinator '{coordinator}': cannot resolve a host: {e.Message}", e);
        }
    }

    /// <summary>
    /// <c>URL[,URL...]</c>: each an absolute http(s) URL of a silo (its base, e.g. http://regatta-silo:5080) or of the
    /// endpoint itself; returns the endpoint URLs, tried in order.
    /// </summary>
    public static Uri[] ParseUrls(string urls)
    {
        var entries = urls.Split(',', StringSplitOptions.TrimEntries);
        if (entries.Length > MaxUrls) throw new ArgumentException($"--gateways-url: at most {MaxUrls} URLs");
        return [.. entries.Select(entry =>
        {
            if (!Uri.TryCreate(entry, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0
                || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
                throw new ArgumentException($"--gateways-url '{entry}': expected an absolute http(s) URL without credentials, query or fragment, " +
                                            "e.g. http://regatta-silo:5080");
            var path = uri.AbsolutePath.TrimEnd('/');
            if (path.EndsWith("/" + GatewaysPath, StringComparison.Ordinal)) return new Uri(uri.GetLeftPart(UriPartial.Authority) + path);
            return new Uri(uri.GetLeftPart(UriPartial.Authority) + path + "/" + GatewaysPath);
        })];
    }

    /// <summary>
    /// The body of GET /api/cluster/gateways: <c>{"gateways": ["ip:port", ...]}</c> with 1 to <see cref="MaxGateways"/>
    /// IP endpoints (no host names: nothing in an unauthenticated answer is resolved), in the order given, duplicates dropped.
    /// </summary>
    public static List<IPEndPoint> ParseResponse(ReadOnlySpan<byte> body)
    {
        if (body.Length > HttpGatewayListProvider.MaxResponseBytes)
            throw new FormatException($"the answer is over {HttpGatewayListProvider.MaxResponseBytes} bytes");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException e)
        {
            throw new FormatException($"not JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("gateways", out var list)
                || list.ValueKind != JsonValueKind.Array)
                throw new FormatException("expected an object with a 'gateways' array");
            var count = list.GetArrayLength();
            if (count is 0 or > MaxGateways) throw new FormatException($"expected 1 to {MaxGateways} gateways, got {count}");
            var gateways = new List<IPEndPoint>(count);
            foreach (var item in list.EnumerateArray())
            {
                var text = item.ValueKind == JsonValueKind.String ? item.GetString()! : null;
                if (text is null || text.Length > 64 || !IPEndPoint.TryParse(text, out var endpoint) || endpoint.Port is < 1 or > 65535
                    || IsUnusable(endpoint.Address))
                    throw new FormatException($"'{Quote(item)}' is not a gateway endpoint (ip:port with a unicast address and a port in [1, 65535])");
                if (!gateways.Contains(endpoint)) gateways.Add(endpoint);
            }
            return gateways;
        }
    }

    /// <summary>The gateway URI Orleans' client takes: <c>gwy.tcp://ip:port/0</c>.</summary>
    public static Uri ToGatewayUri(IPEndPoint endpoint) => new($"gwy.tcp://{endpoint}/0");

    private static bool IsUnusable(IPAddress address) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast) ||
        address.IsIPv6Multicast || address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] is >= 224 and <= 239;

    private static string Quote(JsonElement item)
    {
        var raw = item.GetRawText();
        return raw.Length > 70 ? raw[..70] + "…" : raw;
    }
}

/// <summary>
/// The agent's gateway list from GET /api/cluster/gateways of one or more silo URLs (the first that answers wins).
/// Orleans asks again every <see cref="MaxStaleness"/>, so a lost silo's gateway is dropped and a new one's added.
/// When no URL answers with a valid list, the last good list is kept (and a warning logged).
/// </summary>
public sealed class HttpGatewayListProvider : IGatewayListProvider, IDisposable
{
    public const int MaxResponseBytes = 64 * 1024;
    private readonly IReadOnlyList<Uri> _urls;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private IList<Uri> _last = [];

    public HttpGatewayListProvider(IReadOnlyList<Uri> urls, TimeSpan refresh, ILogger<HttpGatewayListProvider> logger, HttpMessageHandler? handler = null)
    {
        _urls = urls;
        MaxStaleness = refresh;
        _logger = logger;
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = TimeSpan.FromSeconds(10);
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    public TimeSpan MaxStaleness { get; }

#pragma warning disable CS0618 // part of the interface; Orleans treats every provider as updatable
    public bool IsUpdatable => true;
#pragma warning restore CS0618

    public Task InitializeGatewayListProvider() => Task.CompletedTask;

    public async Task<IList<Uri>> GetGateways()
    {
        var failures = new List<string>();
        foreach (var url in _urls)
        {
            try
            {
                var gateways = await FetchAsync(url);
                if (!gateways.SequenceEqual(_last))
                    _logger.LogInformation("Gateways from {Url}: {Gateways}", url, string.Join(", ", gateways.Select(g => g.Authority)));
                return _last = gateways;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException or IOException)
            {
                failures.Add($"{url}: {e.Message}");
            }
        }
        _logger.LogWarning("No gateway list ({Failures}); keeping the last one ({Count} gateways)", string.Join("; ", failures), _last.Count);
        return _last;
    }

    private async Task<IList<Uri>> FetchAsync(Uri url)
    {
        using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new FormatException($"answered {(int)response.StatusCode} {response.ReasonPhrase}");
        if (response.Content.Headers.ContentType?.MediaType is not "application/json")
            throw new FormatException($"answered Content-Type '{response.Content.Headers.ContentType}', not application/json");
        if (response.Content.Headers.ContentLength > MaxResponseBytes)
            throw new FormatException($"the answer is over {MaxResponseBytes} bytes");
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[MaxResponseBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length))) > 0) length += read;
        return [.. GatewayList.ParseResponse(buffer.AsSpan(0, length)).Select(GatewayList.ToGatewayUri)];
    }

    public void Dispose() => _http.Dispose();
}
