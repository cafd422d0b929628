using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace VideoData.Training.Trainer;

/// <summary>
/// Averages a float vector (the flattened gradients) across the ranks of a data-parallel run over TCP, with
/// rank 0 as the hub: every other rank sends its vector, rank 0 adds them in rank order (0, 1, …, W−1) in
/// float32, divides by W and sends the same bytes back to all. Every rank therefore applies bit-identical
/// gradients and, with the same initial weights and optimizer, keeps bit-identical weights. Traffic per step
/// is 2·(W−1) vectors through rank 0, which suits the tiny and small models this trainer runs on CPUs and
/// single nodes; it is no substitute for NCCL at the reference size. Connections are made on the first
/// exchange, so ranks may start in any order. Not thread-safe: one exchange at a time.
/// </summary>
internal sealed class GradientExchange : IDisposable
{
    private const int Magic = 0x56444745; // "VDGE"
    private readonly TrainingRank _rank;
    private readonly string _host;
    private readonly int _port;
    private readonly TimeSpan _timeout;
    private TcpListener? _listener;
    private NetworkStream?[]? _peers;
    private byte[] _buffer = [];

    private GradientExchange(TrainingRank rank, string host, int port, TimeSpan timeout, TcpListener? listener)
    {
        _rank = rank;
        _host = host;
        _port = port;
        _timeout = timeout;
        _listener = listener;
    }

    /// <summary>
    /// Rank 0 starts listening on <paramref name="port"/> (all interfaces) at once; other ranks connect to
    /// <paramref name="host"/>:<paramref name="port"/> on the first exchange, retrying until <paramref name="timeout"/>.
    /// </summary>
    public static GradientExchange Create(TrainingRank rank, string host, int port, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(rank);
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        TcpListener? listener = null;
        if (rank.Rank == 0)
        {
            listener = new TcpListener(IPAddress.Any, port);
            listener.Start(rank.WorldSize);
        }

        return new GradientExchange(rank, host, port, timeout, listener);
    }

    /// <summary>Replaces <paramref name="values"/> with the element-wise mean over all ranks.</summary>
    /// <exception cref="IOException">A peer disconnected, timed out, or sent a vector of another length.</exception>
    public void Average(Span<float> values)
    {
        Connect();
        var bytes = MemoryMarshal.AsBytes(values);
        if (_buffer.Length < bytes.Length)
        {
            _buffer = new byte[bytes.Length];
        }

        if (_rank.Rank != 0)
        {
            var hub = _peers![0]!;
            WriteHeader(hub, values.Length);
            hub.Write(bytes);
            ReadHeader(hub, values.Length, 0);
            hub.ReadExactly(bytes);
            return;
        }

        var received = MemoryMarshal.Cast<byte, float>(_buffer.AsSpan(0, bytes.Length));
        for (var peer = 1; peer < _rank.WorldSize; peer++)
        {
            var stream = _peers![peer]!;
            ReadHeader(stream, values.Length, peer);
            stream.ReadExactly(_buffer.AsSpan(0, bytes.Length));
            for (var i = 0; i < values.Length; i++)
            {
                values[i] += received[i];
            }
        }

        var world = (float)_rank.WorldSize;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] /= world;
        }

        for (var peer = 1; peer < _rank.WorldSize; peer++)
        {
            var stream = _peers![peer]!;
            WriteHeader(stream, values.Length);
            stream.Write(bytes);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_peers is not null)
        {
            foreach (var peer in _peers)
            {
                peer?.Dispose();
            }
        }

        _listener?.Stop();
        _listener?.Dispose();
        _listener = null;
    }

    private void Connect()
    {
        if (_peers is not null)
        {
            return;
        }

        var peers = new NetworkStream?[_rank.WorldSize];
        var deadline = DateTime.UtcNow + _timeout;
        Span<byte> hello = stackalloc byte[12];
        if (_rank.Rank == 0)
        {
            for (var accepted = 1; accepted < _rank.WorldSize; accepted++)
            {
                using var wait = new CancellationTokenSource(Remaining(deadline));
                Socket socket;
                try
                {
                    socket = _listener!.AcceptSocketAsync(wait.Token).AsTask().GetAwaiter().GetResult();
                }
                catch (OperationCanceledException ex)
                {
                    throw new IOException($"Rank 0 waited {_timeout} on port {_port} for the other {_rank.WorldSize - 1} ranks; {accepted - 1} connected.", ex);
                }

                var stream = Prepare(socket);
                stream.ReadExactly(hello);
                var peer = BinaryPrimitives.ReadInt32LittleEndian(hello[4..]);
                var world = BinaryPrimitives.ReadInt32LittleEndian(hello[8..]);
                if (BinaryPrimitives.ReadInt32LittleEndian(hello) != Magic || world != _rank.WorldSize || peer <= 0 || peer >= world || peers[peer] is not null)
                {
                    stream.Dispose();
                    throw new IOException($"Rank 0 got a connection on port {_port} claiming rank {peer} of {world}; expected a new rank in [1, {_rank.WorldSize}).");
                }

                peers[peer] = stream;
            }
        }
        else
        {
            while (true)
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Connect(_host, _port);
                    var stream = Prepare(socket);
                    BinaryPrimitives.WriteInt32LittleEndian(hello, Magic);
                    BinaryPrimitives.WriteInt32LittleEndian(hello[4..], _rank.Rank);
                    BinaryPrimitives.WriteInt32LittleEndian(hello[8..], _rank.WorldSize);
                    stream.Write(hello);
                    peers[0] = stream;
                    break;
                }
                catch (SocketException ex)
                {
                    socket.Dispose();
                    if (DateTime.UtcNow >= deadline)
                    {
                        throw new IOException($"Rank {_rank.Rank} could not reach rank 0 at {_host}:{_port} within {_timeout}: {ex.Message}", ex);
                    }

                    Thread.Sleep(200);
                }
            }
        }

        _peers = peers;
    }

    private NetworkStream Prepare(Socket socket)
    {
        socket.NoDelay = true;
        socket.ReceiveTimeout = (int)Math.Min(int.MaxValue, _timeout.TotalMilliseconds);
        socket.SendTimeout = socket.ReceiveTimeout;
        return new NetworkStream(socket, ownsSocket: true);
    }

    private static TimeSpan Remaining(DateTime deadline)
    {
        var left = deadline - DateTime.UtcNow;
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }

    private static void WriteHeader(NetworkStream stream, int length)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], length);
        stream.Write(header);
    }

    private void ReadHeader(NetworkStream stream, int length, int peer)
    {
        Span<byte> header = stackalloc byte[8];
        try
        {
            stream.ReadExactly(header);
        }
        catch (EndOfStreamException ex)
        {
            throw new IOException($"Rank {_rank.Rank}: rank {peer} closed the gradient exchange (it stopped or failed).", ex);
        }

        var got = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        if (BinaryPrimitives.ReadInt32LittleEndian(header) != Magic || got != length)
        {
            throw new IOException($"Rank {_rank.Rank}: rank {peer} sent a vector of {got} values, expected {length}: the ranks' models differ.");
        }
    }
}
