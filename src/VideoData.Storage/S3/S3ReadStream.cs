namespace VideoData.Storage.S3;

/// <summary>
/// A seekable read-only stream over one S3 object. The object is read in aligned chunks of
/// <see cref="S3StoreOptions.ReadChunkSize"/>, each one ranged GET. After two consecutive chunks the stream
/// fetches up to <see cref="S3StoreOptions.ReadAheadChunks"/> further chunks in parallel; a seek elsewhere
/// cancels what is no longer needed, so a random seek costs one request. Not thread-safe (one reader).
/// </summary>
internal sealed class S3ReadStream : Stream
{
    private readonly S3BlobStore _store;
    private readonly string _key;
    private readonly string? _etag;
    private readonly long _length;
    private readonly int _chunkSize;
    private readonly int _readAhead;
    private readonly Dictionary<long, Chunk> _chunks = [];
    private readonly CancellationTokenSource _disposed = new();
    private long _position;
    private long _lastChunk = -2;
    private int _sequentialRun;

    public S3ReadStream(S3BlobStore store, string key, long length, string? etag)
    {
        _store = store;
        _key = key;
        _length = length;
        _etag = etag;
        _chunkSize = store.Options.ReadChunkSize;
        _readAhead = store.Options.ReadAheadChunks;
    }

    public override bool CanRead => !_disposed.IsCancellationRequested;

    public override bool CanSeek => !_disposed.IsCancellationRequested;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => _length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(offset));

        // Seeking is free: nothing is fetched until the next read.
        _position = target;
        return target;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        // Synchronous callers (FFmpeg's AVIO read callback) block on the async path; chunks are fetched on the thread pool.
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            var read = ReadAsync(rented.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
            rented.AsSpan(0, read).CopyTo(buffer);
            return read;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        if (buffer.Length == 0 || _position >= _length)
        {
            return 0;
        }

        var index = _position / _chunkSize;
        if (index == _lastChunk + 1)
        {
            _sequentialRun++;
        }
        else if (index != _lastChunk)
        {
            _sequentialRun = 0;
        }

        _lastChunk = index;
        var chunk = Ensure(index);
        if (_sequentialRun >= 1)
        {
            for (var ahead = index + 1; ahead <= index + _readAhead && ahead * _chunkSize < _length; ahead++)
            {
                Ensure(ahead);
            }
        }

        Evict(index);
        var data = await chunk.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        var offsetInChunk = (int)(_position - (index * _chunkSize));
        var count = Math.Min(buffer.Length, data.Length - offsetInChunk);
        data.AsMemory(offsetInChunk, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException("S3 read streams are read-only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("S3 read streams are read-only.");

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed.IsCancellationRequested)
        {
            _disposed.Cancel();
            foreach (var chunk in _chunks.Values)
            {
                chunk.Cancel();
            }

            _chunks.Clear();
            _disposed.Dispose();
        }

        base.Dispose(disposing);
    }

    private Chunk Ensure(long index)
    {
        if (!_chunks.TryGetValue(index, out var chunk))
        {
            var start = index * _chunkSize;
            var size = (int)Math.Min(_chunkSize, _length - start);
            chunk = new Chunk(this, start, size, _disposed.Token);
            _chunks[index] = chunk;
        }

        return chunk;
    }

    private void Evict(long current)
    {
        // Keep the previous chunk (small backward seeks, e.g. re-reading a box header) and the read-ahead window.
        List<long>? stale = null;
        foreach (var index in _chunks.Keys)
        {
            if (index < current - 1 || index > current + _readAhead)
            {
                (stale ??= []).Add(index);
            }
        }

        foreach (var index in stale ?? [])
        {
            _chunks[index].Cancel();
            _chunks.Remove(index);
        }
    }

    private sealed class Chunk
    {
        private readonly CancellationTokenSource _cancel;

        public Chunk(S3ReadStream owner, long start, int size, CancellationToken disposed)
        {
            _cancel = CancellationTokenSource.CreateLinkedTokenSource(disposed);
            Task = FetchAsync(owner, start, size, _cancel.Token);

            // A chunk that is evicted or disposed before anyone awaits it must not raise unobserved exceptions.
            _ = Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        public Task<byte[]> Task { get; }

        public void Cancel()
        {
            if (!Task.IsCompleted)
            {
                _cancel.Cancel();
            }
        }

        private static async Task<byte[]> FetchAsync(S3ReadStream owner, long start, int size, CancellationToken cancellationToken)
        {
            await System.Threading.Tasks.Task.Yield();
            var data = GC.AllocateUninitializedArray<byte>(size);
            await owner._store.FetchRangeAsync(owner._key, owner._etag, start, data, cancellationToken).ConfigureAwait(false);
            return data;
        }
    }
}
