using System.Collections.Concurrent;
using System.Text.Json;
using VideoData.Features.Shards;
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

    internal void Validate()
    {
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
public sealed record FeatureShardReadStats(long ShardBytes, long BytesRead, long RowGroupsRead, long VideosServed, long CacheHits, long CachedBytes, long DiskHits);

/// <summary>
/// Training's view of a set of feature shards (the Parquet files <c>videodata preprocess</c> writes) in a
/// blob store — a local folder or S3. Opening reads each shard's footer and per-video index; a video is
/// fetched by reading its one row group, whose sibling videos are cached so an epoch reads every row group
/// once. Thread-safe: reads of one shard are serialised, different shards are read in parallel.
/// </summary>
public sealed class FeatureShardVideoStore : IVideoStore, IAsyncDisposable
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
                var name = blob.Key[(blob.Key.LastIndexOf('/') + 1)..];
                if (!name.EndsWith(".parquet", StringComparison.Ordinal) || name.StartsWith('.'))
                {
                    continue;
                }

                var stream = await blobs.OpenReadAsync(blob.Key, cancellationToken).ConfigureAwait(false);
                var reader = await FeatureShardReader.OpenAsync(stream, blobs.UriOf(blob.Key), leaveOpen: false, cancellationToken).ConfigureAwait(false);
                shards.Add(new Shard(reader));
                bytes += blob.Length;
                foreach (var (id, group) in Index(reader))
                {
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

        if (!_where.TryGetValue(videoId, out var location))
        {
            throw new KeyNotFoundException($"Video '{videoId}' is in none of the {_shards.Length} feature shards.");
        }

        var shard = _shards[location.Shard];
        await shard.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another assembler may have read the row group while this one waited.
            if (_cache.TryGetValue(videoId, out cached))
            {
                Interlocked.Increment(ref _hits);
                return cached;
            }

            var records = await shard.Reader.ReadRowGroupAsync(location.RowGroup, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _rowGroupsRead);
            VideoRecord? wanted = null;
            foreach (var record in records)
            {
                var video = Convert(record, shard.Reader.Name);
                if (record.VideoId == videoId)
                {
                    wanted = video;
                }

                var size = ((long)video.Features.Length * sizeof(float)) + video.Segments.Sum(s => 16 + (4L * s.TokenIds.Length));
                if (Interlocked.Add(ref _cachedBytes, size) <= _options.CacheBytes)
                {
                    _cache.TryAdd(record.VideoId, video);
                    continue;
                }

                Interlocked.Add(ref _cachedBytes, -size);
                if (_options.DiskCacheDirectory is { } folder && !_onDisk.ContainsKey(record.VideoId))
                {
                    var path = await DiskCache.WriteAsync(folder, video, cancellationToken).ConfigureAwait(false);
                    _onDisk.TryAdd(record.VideoId, path);
                }
            }

            return wanted ?? throw new InvalidDataException($"Feature shard '{shard.Reader.Name}': row group {location.RowGroup} does not hold video '{videoId}' its index names.");
        }
        finally
        {
            shard.Gate.Release();
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

    private static IEnumerable<KeyValuePair<string, int>> Index(FeatureShardReader reader)
    {
        if (!reader.Metadata.TryGetValue(FeatureShardFormat.IndexKey, out var json))
        {
            throw new InvalidDataException($"Feature shard '{reader.Name}' has no video index ('{FeatureShardFormat.IndexKey}'); training needs it for random access.");
        }

        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, int>>(json) ?? [];
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Feature shard '{reader.Name}' has an unreadable video index: {ex.Message}", ex);
        }
    }

    private sealed class Shard(FeatureShardReader reader) : IAsyncDisposable
    {
        public FeatureShardReader Reader { get; } = reader;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public async ValueTask DisposeAsync()
        {
            Gate.Dispose();
            await Reader.DisposeAsync().ConfigureAwait(false);
        }
    }
}
