using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Regatta.Tests;

/// <summary>
/// A plain TCP balancer on loopback, as a non-sticky load balancer in front of several silos: each new connection goes
/// to the next backend in turn (skipping one that refuses), bytes are copied both ways unchanged. It notes which
/// backend each connection reached and the first line sent on it ("GET /_blazor?id=..." for a circuit's WebSocket).
/// </summary>
public sealed class RoundRobinProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IReadOnlyList<int> _backends;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, Link> _open = new();
    private readonly ConcurrentQueue<ProxiedConnection> _connections = new();
    private readonly Task _accepting;
    private int _next;
    private int _count;

    private RoundRobinProxy(IReadOnlyList<int> backends)
    {
        _backends = backends;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <param name="backends">Loopback ports, in the order connections are handed out.</param>
    public static RoundRobinProxy Start(IReadOnlyList<int> backends) => new(backends);

    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Every connection so far, oldest first.</summary>
    public IReadOnlyList<ProxiedConnection> Connections => _connections.ToList();

    /// <summary>
    /// Closes every open connection and makes <paramref name="next"/> the backend of the next new one, so that a test
    /// knows where the browser's next request goes (a browser reuses its open connections otherwise).
    /// </summary>
    public void Restart(int next)
    {
        foreach (var link in _open.Values) link.Close();
        Volatile.Write(ref _next, next);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        var first = Interlocked.Increment(ref _next) - 1;
        for (var attempt = 0; attempt < _backends.Count; attempt++)
        {
            var index = (first + attempt) % _backends.Count;
            var backend = new TcpClient();
            try
            {
                await backend.ConnectAsync(IPAddress.Loopback, _backends[index], _stop.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                backend.Dispose();
                continue; // that silo is gone: the next one
            }
            var connection = new ProxiedConnection(Interlocked.Increment(ref _count), index);
            _connections.Enqueue(connection);
            var link = new Link(client, backend);
            _open[connection.Id] = link;
            try
            {
                await Task.WhenAll(CopyAsync(client.GetStream(), backend.GetStream(), connection), CopyAsync(backend.GetStream(), client.GetStream(), null));
            }
            finally
            {
                connection.Closed = true;
                _open.TryRemove(connection.Id, out _);
                link.Close();
            }
            return;
        }
        client.Dispose(); // no backend answers
    }

    private async Task CopyAsync(NetworkStream from, NetworkStream to, ProxiedConnection? noteFirstLine)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                if (noteFirstLine is not null && RequestLine(buffer.AsSpan(0, read)) is { } request) noteFirstLine.Note(request);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException) { }
        finally
        {
            // Half-close: the other direction ends when its peer sees this one end.
            try { to.Socket.Shutdown(SocketShutdown.Send); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }
    }

    /// <summary>"GET /path HTTP/1.1" when a read starts with a request line (browsers write each request at once).</summary>
    private static string? RequestLine(ReadOnlySpan<byte> bytes)
    {
        var end = bytes.IndexOf("\r\n"u8);
        if (end < 0) return null;
        var line = Encoding.ASCII.GetString(bytes[..end]);
        var space = line.IndexOf(' ');
        return space > 0 && line[..space].All(char.IsAsciiLetterUpper) && line.EndsWith(" HTTP/1.1", StringComparison.Ordinal) ? line : null;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var link in _open.Values) link.Close();
        await _accepting;
        _stop.Dispose();
    }

    private sealed class Link(TcpClient client, TcpClient backend)
    {
        public void Close()
        {
            client.Dispose();
            backend.Dispose();
        }
    }
}

/// <summary>One proxied connection: the backend's index, and the request lines the client sent on it.</summary>
public sealed class ProxiedConnection(int id, int backend)
{
    private readonly ConcurrentQueue<string> _requests = new();
    private volatile bool _closed;

    public int Id { get; } = id;
    public int Backend { get; } = backend;
    public IReadOnlyCollection<string> Requests => _requests;
    /// <summary>The first request ("GET /_blazor HTTP/1.1" for a circuit's WebSocket), or null before any.</summary>
    public string? FirstLine => _requests.TryPeek(out var first) ? first : null;

    public bool Closed
    {
        get => _closed;
        set => _closed = value;
    }

    public void Note(string request) => _requests.Enqueue(request);
}
