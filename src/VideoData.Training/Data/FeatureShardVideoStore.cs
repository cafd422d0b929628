using System.Collections.Concurrent;
using VideoData.Shards;
using VideoData.Storage.Blobs;

namespace VideoData.Training.Data;

/// <summary>Options of <see cref="FeatureShardVideoStore"/>. Validated when the store opens.</summary>
public sealed record FeatureShardStoreOptions
{
    /// <summary>Width of the feature rows every video must have (512).</summary>
    public int FeatureDim { get; init; } = 512;

    /// <summary>
    /// Memory the decoded-video cache may hold (8 GiB). A row group read for one video caches all its
    /// videos, so a cold epoch reads each row group once; later epochs are served from memory. When the
    /// budget is spent, new videos are returned without being cached (and siblings are read again later).
    /// </summary>
    public long CacheBytes { get; init; } = 8L << 30;

    /// <summary>
    /// A local folder for videos that do not fit <see cref="CacheBytes"/>, or null for none. Such videos are
    /// written there (raw float32 features and token ids) when their row group is read, and later reads
    /// come from the local disk instead of the shards. The folder is this store's scratch space: files are
    /// named by a hash of the video id and rewritten freely.
    /// </summary>
    public string? DiskCacheDirectory { get; init; }

    /// <summary>
    /// How many row groups of one shard may be read at once (2), each through its own reader (stream and footer
    /// read, opened when first needed). Several assemblers asking for videos of the same shard then read in parallel
    /// instead of queueing; two asking for the same row group share one read.
    /// </summary>
    public int ReadersPerShard { get; init; } = 2;

    internal void Validate()
    {
        if (ReadersPerShard < 1)
        {
            throw new ArgumentException($"Feature shard store option ReadersPerShard = {ReadersPerShard} must be at least 1.", nameof(ReadersPerShard));
        }

        if (FeatureDim < 1)
        {
            throw new ArgumentException($"Feature shard store option FeatureDim = {FeatureDim} must be at least 1.", nameof(FeatureDim));
        }

        if (CacheBytes < 0)
        {
            throw new ArgumentException($"Feature shard store option CacheBytes = {CacheBytes} must not be negative.", nameof(CacheBytes));
        }
    }
}

/// <summary>What a <see cref="FeatureShardVideoStore"/> has read so far.</summary>
/// <param name="ShardBytes">Total size of the shard objects.</param>
/// <param name="BytesRead">Bytes read from the blob store since the store opened (footers included).</param>
/// <param name="RowGroupsRead">Row groups decoded.</param>
/// <param name="VideosServed">Calls to <c>GetAsync</c> answered.</param>
/// <param name="CacheHits">Of those, answered from the cache.</param>
/// <param name="CachedBytes">Bytes of decoded videos held in memory.</param>
/// <param name="DiskHits">Videos answered from the local disk cache.</param>
internal sealed record FeatureShardReadStats(long ShardBytes, long BytesRead, long RowGroupsRead, long VideosServed, long CacheHits, long CachedBytes, long DiskHits);

/// <summary>
/// Training's view of a set of feature shards (the Parquet files <c>videodata preprocess</c> writes) in a
/// blob store — a local folder or S3. Opening reads each shard's footer and per-video index; a video is
/// fetched by reading its one row group, whose sibling videos are cached so an epoch reads every row group
/// once. Thread-safe: up to <see cref="FeatureShardStoreOptions.ReadersPerShard"/> row groups of a shard are read at
/// once, different shards in parallel, and callers wanting videos of a row group being read wait for that read.
/// </summary>
internal sealed class FeatureShardVideoStore : IShardVideoStore
{
    private readonly IBlobStore _blobs;
    private readonly FeatureShardStoreOptions _options;
    private readonly Shard[] _shards;
    private readonly Dictionary<string, (int Shard, int RowGroup)> _where;
    private readonly ConcurrentDictionary<string, VideoRecord> _cache = new(StringComparer.Ordinal);
    private readonly long _bytesReadAtOpen;
    private readonly long _shardBytes;
    private long _cachedBytes;
    private long _rowGroupsRead;
    private long _served;
    private long _hits;
    private long _diskHits;
    private readonly ConcurrentDictionary<string, string> _onDisk = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(int Shard, int RowGroup), Lazy<Task<Dictionary<string, VideoRecord>>>> _loading = new();

    private FeatureShardVideoStore(IBlobStore blobs, FeatureShardStoreOptions options, Shard[] shards, Dictionary<string, (int, int)> where, List<string> ids, long bytesReadAtOpen, long shardBytes)
    {
        _blobs = blobs;
        _options = options;
        _shards = shards;
        _where = where;
        VideoIds = ids;
        _bytesReadAtOpen = bytesReadAtOpen;
        _shardBytes = shardBytes;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> VideoIds { get; }

    /// <inheritdoc />
    public int FeatureDim => _options.FeatureDim;

    /// <summary>Read counters, for read-amplification figures.</summary>
    public FeatureShardReadStats Stats => new(
        _shardBytes,
        _blobs.Counters.BytesRead - _bytesReadAtOpen,
        Interlocked.Read(ref _rowGroupsRead),
        Interlocked.Read(ref _served),
        Interlocked.Read(ref _hits),
        Interlocked.Read(ref _cachedBytes),
        Interlocked.Read(ref _diskHits));

    /// <summary>
    /// Opens every <c>.parquet</c> object under <paramref name="prefix"/> in <paramref name="blobs"/> (names
    /// starting with a dot are unpublished temporaries and skipped). Throws <see cref="InvalidDataException"/>
    /// naming the shard when one is not a feature shard or repeats a video id of another.
    /// </summary>
    public static async Task<FeatureShardVideoStore> OpenAsync(IBlobStore blobs, string prefix, FeatureShardStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(prefix);
        options ??= new FeatureShardStoreOptions();
        options.Validate();
        var before = blobs.Counters.BytesRead;
        var shards = new List<Shard>();
        var where = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        var ids = new List<string>();
        long bytes = 0;
        try
        {
            await foreach (var blob in blobs.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
            {
                if (!FeatureShardFormat.IsShardKey(blob.Key))
                {
                    continue;
                }

                var key = blob.Key;
                var reader = await OpenReaderAsync(blobs, key, cancellationToken).ConfigureAwait(false);
                shards.Add(new Shard(reader, ct => OpenReaderAsync(blobs, key, ct), options.ReadersPerShard));
                bytes += blob.Length;
                if (!reader.HasIndex)
                {
                    throw new InvalidDataException($"Feature shard '{reader.Name}' has no video index ('{FeatureShardFormat.IndexKey}'); training needs it for random access.");
                }

                foreach (var id in reader.VideoIds)
                {
                    var group = reader.RowGroupOf(id);
                    if (!where.TryAdd(id, (shards.Count - 1, group)))
                    {
                        throw new InvalidDataException($"Video '{id}' is in feature shard '{reader.Name}' and in '{shards[where[id].Item1].Reader.Name}'.");
                    }

                    ids.Add(id);
                }
            }
        }
        catch
        {
            foreach (var shard in shards)
            {
                await shard.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        if (shards.Count == 0)
        {
            throw new FileNotFoundException($"No feature shards (*.parquet) under '{blobs.RootUri}{prefix}'.");
        }

        return new FeatureShardVideoStore(blobs, options, [.. shards], where, ids, before, bytes);
    }

    /// <inheritdoc />
    public async ValueTask<VideoRecord> GetAsync(string videoId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(videoId);
        Interlocked.Increment(ref _served);
        if (!_where.TryGetValue(videoId, out var location))
        {
            throw new KeyNotFoundException($"Video '{videoId}' is in none of the {_shards.Length} feature shards.");
        }

        while (true)
        {
            if (_cache.TryGetValue(videoId, out var cached))
            {
                Interlocked.Increment(ref _hits);
                return cached;
            }

            if (_onDisk.TryGetValue(videoId, out var file))
            {
                Interlocked.Increment(ref _diskHits);
                return await DiskCache.ReadAsync(file, videoId, cancellationToken).ConfigureAwait(false);
            }

            // One read per row group however many callers want its videos; the read is not tied to any one
            // caller's cancellation, each caller stops waiting on its own.
            var load = _loading.GetOrAdd(location, key => new Lazy<Task<Dictionary<string, VideoRecord>>>(() => Task.Run(() => LoadRowGroupAsync(key, videoId))));
            var loaded = await load.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (loaded.TryGetValue(videoId, out var video))
            {
                return video;
            }

            if (loaded.Count > 0)
            {
                throw new InvalidDataException($"Feature shard '{_shards[location.Shard].Name}': row group {location.RowGroup} does not hold video '{videoId}' its index names.");
            }

            // Empty: the row group had already been read into the caches when this load started; look again.
        }
    }

    private async Task<Dictionary<string, VideoRecord>> LoadRowGroupAsync((int Shard, int RowGroup) location, string first)
    {
        try
        {
            if (_cache.ContainsKey(first) || _onDisk.ContainsKey(first))
            {
                return [];
            }

            var shard = _shards[location.Shard];
            var records = await shard.ReadRowGroupAsync(location.RowGroup, CancellationToken.None).ConfigureAwait(false);
            Interlocked.Increment(ref _rowGroupsRead);
            var videos = new Dictionary<string, VideoRecord>(records.Count, StringComparer.Ordinal);
            foreach (var record in records)
            {
                var video = Convert(record, shard.Name);
                videos[record.VideoId] = video;
                var size = ((long)video.Features.Length * sizeof(float)) + video.Segments.Sum(s => 16 + (4L * s.TokenIds.Length));
                if (Interlocked.Add(ref _cachedBytes, size) <= _options.CacheBytes)
                {
                    _cache.TryAdd(record.VideoId, video);
                    continue;
                }

                Interlocked.Add(ref _cachedBytes, -size);
                if (_options.DiskCacheDirectory is { } folder && !_onDisk.ContainsKey(record.VideoId))
                {
                    var path = await DiskCache.WriteAsync(folder, video, CancellationToken.None).ConfigureAwait(false);
                    _onDisk.TryAdd(record.VideoId, path);
                }
            }

            return videos;
        }
        finally
        {
            _loading.TryRemove(location, out _);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var shard in _shards)
        {
            await shard.DisposeAsync().ConfigureAwait(false);
        }
    }

    private VideoRecord Convert(FeatureRecord record, string shardName)
    {
        if (record.Dim != _options.FeatureDim)
        {
            throw new InvalidDataException($"Feature shard '{shardName}': video '{record.VideoId}' has {record.Dim}-d features; training expects {_options.FeatureDim}-d.");
        }

        var segments = record.Captions.Select(c => new CaptionSegment(c.Start, c.End, c.TokenIds)).ToArray();
        return new VideoRecord(record.VideoId, record.Dim, record.Features, segments);
    }

    private static async Task<FeatureShardReader> OpenReaderAsync(IBlobStore blobs, string key, CancellationToken cancellationToken)
    {
        var stream = await blobs.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        try
        {
            return await FeatureShardReader.OpenAsync(stream, blobs.UriOf(key), leaveOpen: false, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>One shard: a pool of readers (each not thread-safe), at most <c>readers</c> in use at once.</summary>
    private sealed class Shard(FeatureShardReader first, Func<CancellationToken, Task<FeatureShardReader>> open, int readers) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _slots = new(readers, readers);
        private readonly ConcurrentBag<FeatureShardReader> _idle = [first];
        private readonly List<FeatureShardReader> _all = [first];

        public FeatureShardReader Reader => first;

        public string Name => first.Name;

        public async Task<IReadOnlyList<FeatureRecord>> ReadRowGroupAsync(int rowGroup, CancellationToken cancellationToken)
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!_idle.TryTake(out var reader))
                {
                    reader = await open(cancellationToken).ConfigureAwait(false);
                    lock (_all)
                    {
                        _all.Add(reader);
                    }
                }

                try
                {
                    return await reader.ReadRowGroupAsync(rowGroup, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _idle.Add(reader);
                }
            }
            finally
            {
                _slots.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            _slots.Dispose();
            foreach (var reader in _all)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
