using System.Buffers;
using System.Runtime.InteropServices;
using VideoData.Media.Native;

namespace VideoData.Media.Decode;

/// <summary>
/// A custom AVIOContext that reads a .NET <see cref="Stream"/> (local file, S3 ranged stream, …).
/// Seeking is offered only when the stream can seek (an MP4 with its moov atom at the end needs it).
/// Reads of streams other than local files go through ReadAsync with the decode's cancellation
/// token, so the watchdog can end a stalled network read. An exception thrown by the stream is
/// kept in <see cref="Failure"/> and FFmpeg sees an I/O error.
/// </summary>
internal sealed unsafe class StreamIo : IDisposable
{
    private const int BufferSize = 64 * 1024;
    private readonly Stream _stream;
    private readonly CancellationToken _cancellationToken;
    private readonly bool _readSynchronously;
    private GCHandle _self;
    private readonly IoContextHandle _context;

    public StreamIo(Stream stream, CancellationToken cancellationToken)
    {
        _stream = stream;
        _cancellationToken = cancellationToken;
        _readSynchronously = stream is FileStream or MemoryStream or UnmanagedMemoryStream;
        _self = GCHandle.Alloc(this);
        var buffer = (byte*)Interop.AvUtil.Malloc(BufferSize);
        if (buffer is null)
        {
            _self.Free();
            throw new OutOfMemoryException("av_malloc failed for the I/O buffer.");
        }

        var context = Interop.AvFormat.IoAllocContext(buffer, BufferSize, 0, (void*)GCHandle.ToIntPtr(_self), &Read, null, stream.CanSeek ? &Seek : null);
        if (context is null)
        {
            Interop.AvUtil.Free(buffer);
            _self.Free();
            throw new OutOfMemoryException("avio_alloc_context failed.");
        }

        _context = new IoContextHandle(context);
    }

    public AVIOContext* Context => _context.Pointer;

    /// <summary>The exception the stream threw, if a read or seek failed.</summary>
    public Exception? Failure { get; private set; }

    public long BytesRead { get; private set; }

    /// <summary>The stream's length when it can tell (a seekable stream), else null.</summary>
    public long? Length
    {
        get
        {
            try
            {
                return _stream.CanSeek ? _stream.Length : null;
            }
            catch (Exception e) when (e is NotSupportedException or IOException or ObjectDisposedException)
            {
                return null;
            }
        }
    }

    public void Dispose()
    {
        _context.Dispose();
        if (_self.IsAllocated)
        {
            _self.Free();
        }
    }

    [UnmanagedCallersOnly]
    private static int Read(void* opaque, byte* buffer, int size)
    {
        var io = (StreamIo)GCHandle.FromIntPtr((nint)opaque).Target!;
        try
        {
            var read = io.ReadCore(new Span<byte>(buffer, size));
            io.BytesRead += read;
            return read == 0 ? Interop.AvUtil.ErrorEof : read;
        }
        catch (Exception e)
        {
            io.Failure ??= e;
            return e is OperationCanceledException ? Interop.AvUtil.ErrorExit : Interop.AvUtil.ErrorIo;
        }
    }

    [UnmanagedCallersOnly]
    private static long Seek(void* opaque, long offset, int whence)
    {
        var io = (StreamIo)GCHandle.FromIntPtr((nint)opaque).Target!;
        try
        {
            whence &= ~Interop.AvFormat.SeekForce;
            if (whence == Interop.AvFormat.SeekSize)
            {
                return io._stream.Length;
            }

            var origin = whence switch
            {
                0 => SeekOrigin.Begin,
                1 => SeekOrigin.Current,
                2 => SeekOrigin.End,
                _ => (SeekOrigin)(-1),
            };
            return (int)origin < 0 ? -22 : io._stream.Seek(offset, origin);
        }
        catch (Exception e)
        {
            io.Failure ??= e;
            return Interop.AvUtil.ErrorIo;
        }
    }

    private int ReadCore(Span<byte> destination)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        if (_readSynchronously)
        {
            return _stream.Read(destination);
        }

        var rented = ArrayPool<byte>.Shared.Rent(destination.Length);
        try
        {
            var read = _stream.ReadAsync(rented.AsMemory(0, destination.Length), _cancellationToken).AsTask().GetAwaiter().GetResult();
            rented.AsSpan(0, read).CopyTo(destination);
            return read;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
