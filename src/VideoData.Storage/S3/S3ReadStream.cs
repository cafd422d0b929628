namespace VideoData.Storage.S3;

/// <summary>
/// A seekable read-only stream over one S3 object, read with ranged GETs. The first read after a seek (or at
/// the start) fetches <see cref="S3StoreOptions.SeekReadSize"/> bytes, so a seek costs one small request.
/// Reading on past a fetched range fetches <see cref="S3StoreOptions.ReadChunkSize"/> bytes at a time and,
/// once the reader is sequential, keeps <see cref="S3StoreOptions.ReadAheadChunks"/> further chunks in flight
/// in parallel; a seek elsewhere cancels what is no longer needed. Every range is fetched against the ETag
/// seen at open, so a replaced object fails instead of mixing versions. Not thread-safe (one reader).
/// </summary>
internal sealed class S3ReadStream : Stream
{
    private readonly S3BlobStore _store;
    private readonly string _key;
    private readonly string? _etag;
    private readonly long _length;
    private readonly int _chunkSize;
    private readonly int _seekSize;
    private readonly int _readAhead;
    private readonly List<Chunk> _chunks = [];
    private readonly CancellationTokenSource _disposed = new();
    private long _position;
    private Chunk? _last;
    private bool _sequential;

    public S3ReadStream(S3BlobStore store, string key, long length, string? etag)
    {
        _store = store;
        _key = key;
        _length = length;
        _etag = etag;
        _chunkSize = store.Options.ReadChunkSize;
        _seekSize = store.Options.SeekReadSize;
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

        var chunk = Find(_position);
        if (chunk is null)
        {
            // Reading on from the end of the last range is sequential: a full chunk. Anything else is a seek: a small range.
            var continues = _last is not null && _position == _last.End;
            chunk = Start(_position, continues ? _chunkSize : _seekSize);
        }

        if (chunk != _last)
        {
            _sequential = _last is not null && chunk.Start == _last.End;
            _last = chunk;
        }

        if (_sequential)
        {
            var next = chunk.End;
            for (var i = 0; i < _readAhead && next < _length; i++)
            {
                next = (Find(next) ?? Start(next, _chunkSize)).End;
            }
        }

        Evict(chunk);
        var data = await chunk.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        var offsetInChunk = (int)(_position - chunk.Start);
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
            foreach (var chunk in _chunks)
            {
                chunk.Cancel();
            }

            _chunks.Clear();
            _disposed.Dispose();
        }

        base.Dispose(disposing);
    }

    private Chunk? Find(long position)
    {
        foreach (var chunk in _chunks)
        {
            if (position >= chunk.Start && position < chunk.End)
            {
                return chunk;
            }
        }

        return null;
    }

    private Chunk Start(long start, int size)
    {
        var chunk = new Chunk(this, start, (int)Math.Min(size, _length - start), _disposed.Token);
        _chunks.Add(chunk);
        return chunk;
    }

    private void Evict(Chunk current)
    {
        // Keep the range just before (small backward seeks, e.g. re-reading a box header), the current one and
        // the read-ahead window; cancel and drop the rest.
        var keepFrom = current.Start - _chunkSize;
        var keepTo = current.End + ((long)_readAhead * _chunkSize);
        for (var i = _chunks.Count - 1; i >= 0; i--)
        {
            var chunk = _chunks[i];
            if (chunk != current && (chunk.End <= keepFrom || chunk.Start >= keepTo || (!_sequential && chunk.Start > current.Start)))
            {
                chunk.Cancel();
                _chunks.RemoveAt(i);
            }
        }
    }

    private sealed class Chunk
    {
        private readonly CancellationTokenSource _cancel;

        public Chunk(S3ReadStream owner, long start, int size, CancellationToken disposed)
        {
            Start = start;
            End = start + size;
            _cancel = CancellationTokenSource.CreateLinkedTokenSource(disposed);
            Task = FetchAsync(owner, start, size, _cancel.Token);

            // A chunk that is evicted or disposed before anyone awaits it must not raise unobserved exceptions.
            _ = Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        public long Start { get; }

        public long End { get; }

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
