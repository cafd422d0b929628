using Parquet;
using Parquet.Serialization;
using VideoData.Core.IO;
using VideoData.Storage.Blobs;

namespace VideoData.Shards;

/// <summary>
/// Writes a feature shard (layout: <see cref="FeatureShardFormat"/>) one video at a time, a row
/// group per <see cref="FeatureShardWriterOptions.VideosPerRowGroup"/> videos. Nothing is visible at
/// the destination until <see cref="CompleteAsync"/> publishes the finished file atomically; a writer
/// disposed without completing leaves nothing behind. Not thread-safe.
/// </summary>
public sealed class FeatureShardWriter : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly string _name;
    private readonly FeatureShardWriterOptions _options;
    private readonly Dictionary<string, string> _lineage;
    private readonly Func<CancellationToken, Task>? _publish;
    private readonly Action? _abandon;
    private readonly List<ShardRow> _pending = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private long _pendingBytes;
    private int _rowGroups;
    private bool _completed;
    private bool _disposed;

    private FeatureShardWriter(Stream stream, bool ownsStream, string name, ShardLineage lineage, FeatureShardWriterOptions? options, Func<CancellationToken, Task>? publish, Action? abandon)
    {
        _options = (options ?? new FeatureShardWriterOptions()).Validated();
        ArgumentNullException.ThrowIfNull(lineage);
        _stream = stream;
        _ownsStream = ownsStream;
        _name = name;
        _lineage = lineage.ToMetadata(_options.Storage);
        _publish = publish;
        _abandon = abandon;
    }

    /// <summary>Videos added so far.</summary>
    public int VideoCount => _index.Count;

    /// <summary>
    /// Writes into <paramref name="destination"/>, which must be readable, writable and seekable (the
    /// Parquet footer is rewritten after each row group) and is not disposed. The caller publishes the
    /// stream's content after <see cref="CompleteAsync"/>.
    /// </summary>
    public static FeatureShardWriter Create(Stream destination, ShardLineage lineage, FeatureShardWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.CanRead || !destination.CanWrite || !destination.CanSeek)
        {
            throw new ArgumentException("A feature shard is written to a readable, writable, seekable stream (e.g. a temporary file).", nameof(destination));
        }

        return new FeatureShardWriter(destination, ownsStream: false, "stream", lineage, options, publish: null, abandon: null);
    }

    /// <summary>
    /// Writes <paramref name="path"/>: the shard is built under a temporary name in the same folder and
    /// renamed onto <paramref name="path"/> (replacing any existing file) by <see cref="CompleteAsync"/>.
    /// </summary>
    public static FeatureShardWriter CreateFile(string path, ShardLineage lineage, FeatureShardWriterOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temp = OutputFile.TemporaryPathFor(full);
        var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        return new FeatureShardWriter(
            stream,
            ownsStream: true,
            full,
            lineage,
            options,
            publish: _ =>
            {
                // Renamed onto a regular file; copied into a device, FIFO or link (never renamed over it).
                OutputFile.Publish(temp, full);
                return Task.CompletedTask;
            },
            abandon: () => File.Delete(temp));
    }

    /// <summary>
    /// Writes the object <paramref name="key"/> of <paramref name="store"/>: the shard is built in a local
    /// temporary file and handed to the store's atomic <see cref="IBlobStore.WriteFileAsync"/> by
    /// <see cref="CompleteAsync"/>.
    /// </summary>
    public static FeatureShardWriter CreateBlob(IBlobStore store, string key, ShardLineage lineage, FeatureShardWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        BlobKeys.Validate(key);
        var temp = Path.Combine(Path.GetTempPath(), OutputFile.TemporaryNameFor(Path.GetFileName(key)));
        var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        return new FeatureShardWriter(
            stream,
            ownsStream: true,
            store.UriOf(key),
            lineage,
            options,
            publish: async ct =>
            {
                await store.WriteFileAsync(key, temp, ct).ConfigureAwait(false);
                File.Delete(temp);
            },
            abandon: () => File.Delete(temp));
    }

    /// <summary>
    /// Adds one video. Throws <see cref="ArgumentException"/> for a malformed record, a NaN or infinite
    /// feature value (naming the video and the second), or a video id already in the shard. May write a
    /// row group. The writer may keep the record's arrays until its row group is written: do not modify
    /// them after adding.
    /// </summary>
    public async ValueTask AddAsync(FeatureRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            throw new InvalidOperationException($"Feature shard '{_name}' is already complete.");
        }

        record.Validate();
        RefuseNonFinite(record.VideoId, "features", record.Features, record.Dim);
        if (record.Mixed5c is not null)
        {
            RefuseNonFinite(record.VideoId, "mixed_5c", record.Mixed5c, record.Mixed5cDim);
        }

        if (!_index.TryAdd(record.VideoId, _rowGroups))
        {
            throw new ArgumentException($"Feature shard '{_name}' already holds video '{record.VideoId}'.", nameof(record));
        }

        _pending.Add(new ShardRow
        {
            VideoId = record.VideoId,
            Duration = record.Duration,
            Seconds = record.Seconds,
            Dim = record.Dim,
            Features = Store(record.Features),
            Mixed5cDim = record.Mixed5cDim,
            Mixed5c = record.Mixed5c is null ? [] : Store(record.Mixed5c),
            Captions = record.Captions.Select(c => new ShardCaption { Start = c.Start, End = c.End, Text = c.Text, TokenIds = c.TokenIds }).ToList(),
        });
        _pendingBytes += 4L * (record.Features.LongLength + (record.Mixed5c?.LongLength ?? 0));
        if (_pending.Count >= _options.VideosPerRowGroup || _pendingBytes >= _options.MaxRowGroupBytes)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes the last row group and the footer, then publishes the shard (see the factories).</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            return;
        }

        if (_pending.Count > 0 || _rowGroups == 0)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (_ownsStream)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }

        if (_publish is not null)
        {
            await _publish(cancellationToken).ConfigureAwait(false);
        }

        _completed = true;
    }

    /// <summary>Releases the writer; without a completed <see cref="CompleteAsync"/> the partial shard is discarded.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_ownsStream)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }

        if (!_completed)
        {
            _abandon?.Invoke();
        }
    }

    /// <summary>
    /// Invariant: a shard never holds a NaN or infinite feature. The encoder already turns such a second into the video's
    /// recorded failure; this is the last line before anything is committed, so no path (a resumed run's work files, a
    /// library caller) can publish one as a success.
    /// </summary>
    private void RefuseNonFinite(string videoId, string column, float[] values, int dim)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new ArgumentException(
                    $"Feature shard '{_name}': video '{videoId}' has a non-finite {column} value ({values[i]}) in second {i / dim} (value {i % dim}); "
                    + "a shard never holds NaN or infinite features.");
            }
        }
    }

    private float[] Store(float[] values)
    {
        if (_options.Storage == FeatureStorage.Float32)
        {
            return values;
        }

        var rounded = new float[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            rounded[i] = (float)(Half)values[i];
        }

        return rounded;
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        var metadata = new Dictionary<string, string>(_lineage, StringComparer.Ordinal)
        {
            [FeatureShardFormat.IndexKey] = ShardIndex.Serialize(_index),
        };
        _stream.Position = 0;
        // Uncompressed by default: float features barely compress with a general codec (Snappy saved 2% on
        // float16-rounded values), and plain pages let a reader copy a video's values straight from the file.
        var options = new ParquetOptions { Append = _rowGroups > 0, RowGroupSize = Math.Max(_pending.Count, 1), CompressionMethod = _options.Compression };
        await ParquetSerializer.SerializeAsync(_pending, _stream, options, metadata, cancellationToken).ConfigureAwait(false);
        _rowGroups++;
        _pending.Clear();
        _pendingBytes = 0;
    }
}
