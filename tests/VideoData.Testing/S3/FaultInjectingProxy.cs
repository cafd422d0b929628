using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VideoData.Testing.S3;

/// <summary>A fault the <see cref="FaultInjectingProxy"/> can inject into one request.</summary>
public enum ProxyFault
{
    /// <summary>Forward the request and the response unchanged.</summary>
    None,

    /// <summary>Answer HTTP 500 InternalError without contacting the server.</summary>
    InternalError,

    /// <summary>Answer HTTP 503 SlowDown (S3's throttling answer) without contacting the server.</summary>
    SlowDown,

    /// <summary>Forward the request, then the response head and half the body, then reset the connection (TCP RST).</summary>
    ResetMidBody,

    /// <summary>Forward the request, then the response head and half the body, then send nothing until the client gives up.</summary>
    Stall,
}

/// <summary>Settings of a <see cref="FaultInjectingProxy"/>.</summary>
public sealed class FaultProxyOptions
{
    /// <summary>Fraction of requests that get a fault, 0 to 1. Can be changed while the proxy runs through <see cref="FaultInjectingProxy.FaultRate"/>.</summary>
    public double FaultRate { get; set; }

    /// <summary>Seed of the fault decisions: request n (in arrival order) gets the n-th decision of this seed.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>The faults to draw from, uniformly. Default: all four.</summary>
    public IReadOnlyList<ProxyFault> Faults { get; set; } = [ProxyFault.InternalError, ProxyFault.SlowDown, ProxyFault.ResetMidBody, ProxyFault.Stall];

    /// <summary>Longest a stalled response is held before the proxy closes it. Default 60 s (the client's attempt timeout should end it first).</summary>
    public TimeSpan StallDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Enforce S3's conditional writes, which s3rver 3.7.1 ignores (it overwrites): a PUT or DELETE with <c>If-None-Match: *</c>
    /// or <c>If-Match: ETAG</c> is checked against the object upstream (a HEAD) and answered 412 PreconditionFailed (404 NoSuchKey
    /// for <c>If-Match</c> on a missing key) as AWS S3 does; conditional requests pass one at a time, check and write together,
    /// so two racing writers see exactly one winner. Unconditional requests are not held back.
    /// </summary>
    public bool EnforceConditionalWrites { get; set; }
}

/// <summary>
/// A loopback HTTP/1.1 proxy that sits between an S3 client and a server (the client's endpoint is
/// <see cref="Endpoint"/>) and injects faults into a seeded, configurable fraction of requests: 500s,
/// 503 SlowDown, connection resets in the middle of a response body and stalls. Every request travels on
/// its own connection (the proxy asks both sides for <c>Connection: close</c>), so faults never leak from
/// one request into another. It records what it saw (<see cref="Requests"/>, <see cref="Injected"/>).
/// </summary>
public sealed class FaultInjectingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Uri _upstream;
    private readonly FaultProxyOptions _options;
    private readonly Random _random;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _requests = [];
    private readonly Dictionary<ProxyFault, int> _injected = [];
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;
    private readonly SemaphoreSlim _conditionalGate = new(1, 1);
    private readonly HttpClient _head = new();
    private int _conditionsRefused;
    private double _faultRate;

    private FaultInjectingProxy(Uri upstream, FaultProxyOptions options)
    {
        _upstream = upstream;
        _options = options;
        _random = new Random(options.Seed);
        _faultRate = options.FaultRate;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(512);
        Endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The proxy's address; point the client here.</summary>
    public Uri Endpoint { get; }

    /// <summary>The current fraction of faulted requests (0 to 1).</summary>
    public double FaultRate
    {
        get => Volatile.Read(ref _faultRate);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1.0);
            Volatile.Write(ref _faultRate, value);
        }
    }

    /// <summary>The request lines (<c>METHOD /path?query</c>) seen so far, in arrival order.</summary>
    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>How many faults of each kind were injected so far.</summary>
    public IReadOnlyDictionary<ProxyFault, int> Injected
    {
        get
        {
            lock (_requests)
            {
                return new Dictionary<ProxyFault, int>(_injected);
            }
        }
    }

    /// <summary>Conditional writes refused so far (412 or 404) under <see cref="FaultProxyOptions.EnforceConditionalWrites"/>.</summary>
    public int ConditionsRefused => Volatile.Read(ref _conditionsRefused);

    /// <summary>The number of faults injected so far.</summary>
    public int InjectedTotal => Injected.Values.Sum();

    /// <summary>Starts a proxy in front of <paramref name="upstream"/> (an <c>http://</c> loopback server).</summary>
    public static FaultInjectingProxy Start(Uri upstream, FaultProxyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        options ??= new FaultProxyOptions();
        if (options.Faults.Count == 0 || options.FaultRate is < 0 or > 1)
        {
            throw new ArgumentException("FaultProxyOptions needs at least one fault and a FaultRate in [0, 1].", nameof(options));
        }

        return new FaultInjectingProxy(upstream, options);
    }

    /// <summary>Stops accepting, ends every open connection and waits for the handlers.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        Task[] open;
        lock (_connections)
        {
            open = [.. _connections];
        }

        await Task.WhenAll(open).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
        _head.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(_stop.Token);
            var task = Task.Run(() => HandleAsync(client));
            lock (_connections)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(task);
            }
        }
    }

    private ProxyFault Decide(string requestLine)
    {
        lock (_requests)
        {
            _requests.Add(requestLine);
            var roll = _random.NextDouble();
            var pick = _random.Next(_options.Faults.Count);
            var fault = roll < FaultRate ? _options.Faults[pick] : ProxyFault.None;
            if (fault != ProxyFault.None)
            {
                _injected[fault] = _injected.GetValueOrDefault(fault) + 1;
            }

            return fault;
        }
    }

    private async Task HandleAsync(Socket client)
    {
        using var _ = client;
        var token = _stop.Token;
        try
        {
            var (head, extra) = await ReadHeadAsync(client, token);
            if (head is null)
            {
                return;
            }

            var lines = head.Split("\r\n");
            var requestLine = lines[0];
            var method = requestLine.Split(' ')[0];
            var headers = lines.Skip(1).Where(l => l.Length > 0).ToList();
            var fault = Decide(requestLine.Length > 300 ? requestLine[..300] : requestLine);

            if (fault is ProxyFault.InternalError or ProxyFault.SlowDown)
            {
                await AnswerErrorAsync(client, method, headers, extra, fault, token);
                return;
            }

            var ifNoneMatch = HeaderValue(headers, "If-None-Match");
            var ifMatch = HeaderValue(headers, "If-Match");
            var conditional = _options.EnforceConditionalWrites && method is "PUT" or "DELETE" && (ifNoneMatch is not null || ifMatch is not null);
            if (conditional)
            {
                await _conditionalGate.WaitAsync(token);
            }

            try
            {
                if (conditional && await RefusalAsync(requestLine.Split(' ')[1], ifNoneMatch, ifMatch, token) is { } refusal)
                {
                    Interlocked.Increment(ref _conditionsRefused);
                    await AnswerAsync(client, method, headers, extra, refusal.Status, refusal.Code, refusal.Message, token);
                    return;
                }

                await ForwardAsync(client, requestLine, method, headers, extra, fault, token);
            }
            finally
            {
                if (conditional)
                {
                    _conditionalGate.Release();
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException or HttpRequestException)
        {
            // A client or server that went away ends this connection only.
        }
    }

    /// <summary>What AWS S3 would answer a conditional write given the object upstream now, or null to let it through.</summary>
    private async Task<(string Status, string Code, string Message)?> RefusalAsync(string target, string? ifNoneMatch, string? ifMatch, CancellationToken token)
    {
        var path = target.Split('?')[0];
        using var request = new HttpRequestMessage(HttpMethod.Head, new Uri(_upstream, path));
        using var response = await _head.SendAsync(request, token);
        var exists = response.IsSuccessStatusCode;
        var etag = response.Headers.ETag?.ToString();
        if (ifNoneMatch == "*" && exists)
        {
            return ("412 Precondition Failed", "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
        }

        if (ifMatch is not null && !exists)
        {
            return ("404 Not Found", "NoSuchKey", "The specified key does not exist.");
        }

        if (ifMatch is not null && etag != ifMatch)
        {
            return ("412 Precondition Failed", "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
        }

        return null;
    }

    private static string? HeaderValue(List<string> headers, string name) =>
        headers.FirstOrDefault(h => h.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase)) is { } header ? header[(name.Length + 1)..].Trim() : null;

    private async Task ForwardAsync(Socket client, string requestLine, string method, List<string> headers, byte[] extra, ProxyFault fault, CancellationToken token)
    {
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await upstream.ConnectAsync(_upstream.Host, _upstream.Port, token);
        var rewritten = new StringBuilder().Append(requestLine).Append("\r\n");
        foreach (var header in headers.Where(h => !h.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase)))
        {
            rewritten.Append(header).Append("\r\n");
        }

        rewritten.Append("Connection: close\r\n\r\n");
        await upstream.SendAsync(Encoding.Latin1.GetBytes(rewritten.ToString()), token);
        if (extra.Length > 0)
        {
            await upstream.SendAsync(extra, token);
        }

        // The request body (if any) flows on in the background; the response decides when we are done.
        using var requestDone = CancellationTokenSource.CreateLinkedTokenSource(token);
        var pumpRequest = PumpAsync(client, upstream, requestDone.Token);
        await RelayResponseAsync(client, upstream, method, fault, token);
        await requestDone.CancelAsync();
        await pumpRequest.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task RelayResponseAsync(Socket client, Socket upstream, string method, ProxyFault fault, CancellationToken token)
    {
        while (true)
        {
            var (head, extra) = await ReadHeadAsync(upstream, token);
            if (head is null)
            {
                return;
            }

            var headBytes = Encoding.Latin1.GetBytes(head);
            var status = head.Length >= 12 ? head.Substring(9, 3) : "000";
            if (status.StartsWith('1'))
            {
                // Interim response (100 Continue): pass it on and wait for the final one.
                await client.SendAsync(headBytes, token);
                if (extra.Length > 0)
                {
                    throw new IOException("Unexpected bytes after an interim response.");
                }

                continue;
            }

            var contentLength = ContentLength(head.Split("\r\n"));
            var hasBody = method != "HEAD" && contentLength > 0;
            if (fault == ProxyFault.None)
            {
                await client.SendAsync(headBytes, token);
                if (extra.Length > 0)
                {
                    await client.SendAsync(extra, token);
                }

                await PumpAsync(upstream, client, token);
                client.Shutdown(SocketShutdown.Send);
                return;
            }

            // Fault in the middle of the response: head and half the body, or half the head when there is no body.
            var response = new List<byte>(headBytes);
            response.AddRange(extra);
            var keep = hasBody ? headBytes.Length + (int)Math.Min(contentLength / 2, int.MaxValue - headBytes.Length) : headBytes.Length / 2;
            var buffer = new byte[64 * 1024];
            while (response.Count < keep)
            {
                var read = await upstream.ReceiveAsync(buffer, token);
                if (read == 0)
                {
                    break;
                }

                response.AddRange(buffer.AsSpan(0, read));
            }

            await client.SendAsync(response.Take(keep).ToArray(), token);
            if (fault == ProxyFault.ResetMidBody)
            {
                client.LingerState = new LingerOption(true, 0);
                client.Close();
                return;
            }

            // Stall: hold the connection open and silent until the client gives up or the stall ends.
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(token);
            stall.CancelAfter(_options.StallDuration);
            try
            {
                while (await client.ReceiveAsync(buffer, stall.Token) > 0)
                {
                }
            }
            catch (OperationCanceledException)
            {
            }

            return;
        }
    }

    private static async Task AnswerErrorAsync(Socket client, string method, List<string> headers, byte[] extra, ProxyFault fault, CancellationToken token)
    {
        var (status, code, message) = fault == ProxyFault.SlowDown
            ? ("503 Slow Down", "SlowDown", "Please reduce your request rate.")
            : ("500 Internal Server Error", "InternalError", "We encountered an internal error. Please try again.");
        await AnswerAsync(client, method, headers, extra, status, code, message, token);
    }

    private static async Task AnswerAsync(Socket client, string method, List<string> headers, byte[] extra, string status, string code, string message, CancellationToken token)
    {
        var expectsContinue = headers.Any(h => h.StartsWith("Expect:", StringComparison.OrdinalIgnoreCase) && h.Contains("100-continue", StringComparison.OrdinalIgnoreCase));
        if (!expectsContinue)
        {
            // Read the body the client is sending, so that it reads our answer instead of a reset.
            var remaining = ContentLength(headers) - extra.Length;
            var buffer = new byte[64 * 1024];
            using var drain = CancellationTokenSource.CreateLinkedTokenSource(token);
            drain.CancelAfter(TimeSpan.FromSeconds(30));
            while (remaining > 0)
            {
                var read = await client.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), drain.Token);
                if (read == 0)
                {
                    return;
                }

                remaining -= read;
            }
        }

        var body = method == "HEAD" ? "" : $"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>";
        var response = $"HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
        await client.SendAsync(Encoding.UTF8.GetBytes(response), token);
        client.Shutdown(SocketShutdown.Send);
    }

    private static long ContentLength(IEnumerable<string> headers)
    {
        foreach (var header in headers)
        {
            if (header.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)
                && long.TryParse(header.AsSpan(15).Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length))
            {
                return length;
            }
        }

        return 0;
    }

    /// <summary>Reads up to the blank line ending an HTTP head; returns the head (without the blank line's CRLFCRLF, plus one CRLFCRLF) and any bytes read past it.</summary>
    private static async Task<(string? Head, byte[] Extra)> ReadHeadAsync(Socket socket, CancellationToken token)
    {
        var data = new List<byte>(4096);
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var end = IndexOfHeadEnd(data);
            if (end >= 0)
            {
                var head = Encoding.Latin1.GetString(data.GetRange(0, end + 4).ToArray());
                return (head, data.GetRange(end + 4, data.Count - end - 4).ToArray());
            }

            if (data.Count > 256 * 1024)
            {
                throw new IOException("HTTP head larger than 256 KiB.");
            }

            var read = await socket.ReceiveAsync(buffer, token);
            if (read == 0)
            {
                return (null, []);
            }

            data.AddRange(buffer.AsSpan(0, read));
        }
    }

    private static int IndexOfHeadEnd(List<byte> data)
    {
        for (var i = 0; i + 3 < data.Count; i++)
        {
            if (data[i] == '\r' && data[i + 1] == '\n' && data[i + 2] == '\r' && data[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }

    private static async Task PumpAsync(Socket from, Socket to, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReceiveAsync(buffer, token);
            if (read == 0)
            {
                return;
            }

            await to.SendAsync(buffer.AsMemory(0, read), token);
        }
    }
}
