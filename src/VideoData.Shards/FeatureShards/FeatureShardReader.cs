using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Schema;

namespace VideoData.Shards;

/// <summary>
/// Reads a feature shard (layout: <see cref="FeatureShardFormat"/>). Opening reads only the footer
/// (schema, lineage metadata, the per-video index); <see cref="ReadVideoAsync"/> then reads the one
/// row group holding that video: its small columns, and of the feature columns only that video's values when
/// they are stored uncompressed (the writer's layout). A file that is not an intact feature shard gives an
/// <see cref="InvalidDataException"/> naming it. Not thread-safe.
/// </summary>
public sealed class FeatureShardReader : IAsyncDisposable
{
    private static readonly string[] s_requiredColumns =
    [
        "video_id", "duration", "seconds", "dim", "features/list/element", "mixed_5c_dim", "mixed_5c/list/element",
        "captions/list/element/start", "captions/list/element/end", "captions/list/element/text", "captions/list/element/token_ids/list/element",
    ];

    private readonly ParquetReader _reader;
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly Dictionary<string, DataField> _fields;
    private readonly Dictionary<string, int> _index;
    private readonly List<string> _videoIds;
    private bool _fastFloatLists = true;

    private FeatureShardReader(string name, ParquetReader reader, Stream stream, bool ownsStream, Dictionary<string, DataField> fields, Dictionary<string, int> index, List<string> videoIds, bool hasIndex)
    {
        HasIndex = hasIndex;
        Name = name;
        _reader = reader;
        _stream = stream;
        _ownsStream = ownsStream;
        _fields = fields;
        _index = index;
        _videoIds = videoIds;
    }

    /// <summary>The file or object name used in messages.</summary>
    public string Name { get; }

    /// <summary>The footer's key/value metadata: lineage (<c>videodata.*</c>) and the index.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _reader.CustomMetadata;

    /// <summary>Number of row groups.</summary>
    public int RowGroupCount => _reader.RowGroupCount;

    /// <summary>Number of videos (rows).</summary>
    public int VideoCount => _videoIds.Count;

    /// <summary>The video ids in file order.</summary>
    public IReadOnlyList<string> VideoIds => _videoIds;

    /// <summary>
    /// Whether the footer carries the per-video index (<see cref="FeatureShardFormat.IndexKey"/>), as every shard the
    /// writer or the assembler makes does; without it the reader found the videos by reading the id column.
    /// </summary>
    public bool HasIndex { get; }

    /// <summary>The row group holding <paramref name="videoId"/>; throws <see cref="KeyNotFoundException"/> naming the shard when it is not in it.</summary>
    public int RowGroupOf(string videoId) =>
        _index.TryGetValue(videoId, out var group) ? group : throw new KeyNotFoundException($"Feature shard '{Name}' has no video '{videoId}'.");

    /// <summary>The Parquet schema, one line per column: path, physical type, repetition.</summary>
    public string SchemaDescription => string.Join(
        Environment.NewLine,
        _reader.Schema.GetDataFields().Select(f => $"{f.Path} : {TypeName(f.ClrType)}{(f.MaxRepetitionLevel > 0 ? $" (list depth {f.MaxRepetitionLevel})" : "")}"));

    /// <summary>Opens the shard file at <paramref name="path"/>.</summary>
    public static Task<FeatureShardReader> OpenAsync(string path, CancellationToken cancellationToken = default) =>
        OpenAsync(path, null, cancellationToken);

    /// <summary>Opens the shard file at <paramref name="path"/> within <paramref name="options"/>' limits (default: <see cref="FeatureShardReaderOptions"/>'s).</summary>
    public static async Task<FeatureShardReader> OpenAsync(string path, FeatureShardReaderOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Feature shard '{path}' does not exist.", path);
        }

        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.RandomAccess);
        try
        {
            return await OpenAsync(stream, path, leaveOpen: false, options, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Opens a shard from a seekable stream (e.g. <c>IBlobStore.OpenReadAsync</c>); <paramref name="name"/> is used in messages.</summary>
    public static Task<FeatureShardReader> OpenAsync(Stream stream, string name, bool leaveOpen = false, CancellationToken cancellationToken = default) =>
        OpenAsync(stream, name, leaveOpen, null, cancellationToken);

    /// <summary>
    /// Opens a shard from a seekable stream within <paramref name="options"/>' limits: every size the footer declares is
    /// checked against the stream's length and the budget before anything is allocated from it (<see cref="FeatureShardBounds"/>).
    /// </summary>
    public static async Task<FeatureShardReader> OpenAsync(Stream stream, string name, bool leaveOpen, FeatureShardReaderOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek)
        {
            throw new ArgumentException("A feature shard is read from a seekable stream.", nameof(stream));
        }

        options ??= new FeatureShardReaderOptions();
        options.Validate();
        await FeatureShardBounds.CheckTailAsync(stream, name, options, cancellationToken).ConfigureAwait(false);

        var reader = await ParquetColumns.OpenAsync(stream, $"Feature shard '{name}' is not a readable Parquet file (truncated or corrupt)", cancellationToken).ConfigureAwait(false);

        try
        {
            var fields = ParquetColumns.Leaves(reader);
            var missing = s_requiredColumns.Where(c => !fields.ContainsKey(c)).ToList();
            if (missing.Count > 0)
            {
                throw new InvalidDataException($"Feature shard '{name}' lacks the columns {string.Join(", ", missing)}; it is not a VideoData feature shard.");
            }

            if (!reader.CustomMetadata.TryGetValue(FeatureShardFormat.FormatKey, out var format) || format != FeatureShardFormat.FormatVersion)
            {
                throw new InvalidDataException($"Feature shard '{name}' has format '{format ?? "(none)"}', expected '{FeatureShardFormat.FormatVersion}'.");
            }

            FeatureShardBounds.CheckRowGroups(reader, fields, stream.Length, name, options);
            var (index, ids, footer) = await LoadIndexAsync(reader, fields["video_id"], name, cancellationToken).ConfigureAwait(false);
            return new FeatureShardReader(name, reader, stream, !leaveOpen, fields, index, ids, footer) { _fastFloatLists = options.FastFloatLists };
        }
        catch
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Whether the shard holds <paramref name="videoId"/>.</summary>
    public bool Contains(string videoId) => _index.ContainsKey(videoId);

    /// <summary>
    /// Reads one video, touching only the row group the index names. Throws
    /// <see cref="KeyNotFoundException"/> naming the shard when the video is not in it.
    /// </summary>
    public async Task<FeatureRecord> ReadVideoAsync(string videoId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(videoId);
        if (!_index.TryGetValue(videoId, out var rowGroup))
        {
            throw new KeyNotFoundException($"Feature shard '{Name}' has no video '{videoId}'.");
        }

        IReadOnlyList<FeatureRecord> records;
        try
        {
            records = await ReadRowGroupCoreAsync(rowGroup, videoId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not InvalidDataException)
        {
            throw new InvalidDataException($"Feature shard '{Name}': row group {rowGroup} cannot be read (truncated or corrupt): {ex.Message}", ex);
        }

        return records.FirstOrDefault(r => r.VideoId == videoId)
            ?? throw new InvalidDataException($"Feature shard '{Name}': its index places video '{videoId}' in row group {rowGroup}, which does not hold it.");
    }

    /// <summary>Reads every video, one row group at a time.</summary>
    public async IAsyncEnumerable<FeatureRecord> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var g = 0; g < RowGroupCount; g++)
        {
            foreach (var record in await ReadRowGroupAsync(g, cancellationToken).ConfigureAwait(false))
            {
                yield return record;
            }
        }
    }

    /// <summary>Reads all videos of one row group.</summary>
    public async Task<IReadOnlyList<FeatureRecord>> ReadRowGroupAsync(int rowGroup, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowGroup);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rowGroup, RowGroupCount);
        try
        {
            return await ReadRowGroupCoreAsync(rowGroup, null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not InvalidDataException)
        {
            throw new InvalidDataException($"Feature shard '{Name}': row group {rowGroup} cannot be read (truncated or corrupt): {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync().ConfigureAwait(false);
        if (_ownsStream)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string TypeName(Type type) =>
        type == typeof(ReadOnlyMemory<char>) || type == typeof(string) ? "string"
        : type == typeof(float) ? "float"
        : type == typeof(double) ? "double"
        : type == typeof(int) ? "int32"
        : type == typeof(long) ? "int64"
        : type.Name;

    private static async Task<(Dictionary<string, int> Index, List<string> Ids, bool Footer)> LoadIndexAsync(ParquetReader reader, DataField idField, string name, CancellationToken cancellationToken)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = new List<string>();

        // The footer's index avoids touching any column; without it, read just the id column.
        if (reader.CustomMetadata.TryGetValue(FeatureShardFormat.IndexKey, out var json))
        {
            foreach (var (id, group) in ShardIndex.Parse(json, $"Feature shard '{name}'", reader.RowGroupCount))
            {
                index[id] = group;
                ids.Add(id);
            }

            var rows = reader.RowGroups.Sum(g => g.RowCount);
            if (rows != ids.Count)
            {
                throw new InvalidDataException($"Feature shard '{name}' indexes {ids.Count} videos but holds {rows} rows.");
            }

            return (index, ids, true);
        }

        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var values = (await ParquetColumns.ReadAsync<ReadOnlyMemory<char>>(group, idField, cancellationToken).ConfigureAwait(false)).Values;
            foreach (var id in values.Take((int)group.RowCount))
            {
                var text = id.ToString();
                index[text] = g;
                ids.Add(text);
            }
        }

        return (index, ids, false);
    }

    /// <summary>Reads the row group's videos, or only <paramref name="onlyId"/> (whose feature bytes alone are then read where the layout allows).</summary>
    private async Task<IReadOnlyList<FeatureRecord>> ReadRowGroupCoreAsync(int rowGroup, string? onlyId, CancellationToken ct)
    {
        using var group = _reader.OpenRowGroupReader(rowGroup);
        var rows = checked((int)group.RowCount);
        var ids = (await ParquetColumns.ReadAsync<ReadOnlyMemory<char>>(group, _fields["video_id"], ct).ConfigureAwait(false)).Values;
        var only = -1;
        if (onlyId is not null)
        {
            for (var r = 0; r < rows && only < 0; r++)
            {
                only = ids[r].Span.SequenceEqual(onlyId) ? r : -1;
            }

            if (only < 0)
            {
                return [];
            }
        }

        var durations = (await ParquetColumns.ReadAsync<double>(group, _fields["duration"], ct).ConfigureAwait(false)).Values;
        var seconds = (await ParquetColumns.ReadAsync<int>(group, _fields["seconds"], ct).ConfigureAwait(false)).Values;
        var dims = (await ParquetColumns.ReadAsync<int>(group, _fields["dim"], ct).ConfigureAwait(false)).Values;
        var mixedDims = (await ParquetColumns.ReadAsync<int>(group, _fields["mixed_5c_dim"], ct).ConfigureAwait(false)).Values;
        var features = await ReadFloatListsAsync(group, "features/list/element", rows, seconds, dims, only, ct).ConfigureAwait(false);
        var mixed = await ReadFloatListsAsync(group, "mixed_5c/list/element", rows, seconds, mixedDims, only, ct).ConfigureAwait(false);
        var captions = await ParquetColumns.ReadCaptionListsAsync(group, _fields, "captions/list/element/", rows, $"Feature shard '{Name}'", ct).ConfigureAwait(false);

        var records = new List<FeatureRecord>(only < 0 ? rows : 1);
        for (var r = only < 0 ? 0 : only; r < (only < 0 ? rows : only + 1); r++)
        {
            var record = new FeatureRecord
            {
                VideoId = ids[r].ToString(),
                Duration = durations[r],
                Seconds = seconds[r],
                Dim = dims[r],
                Features = features[r],
                Mixed5cDim = mixedDims[r],
                Mixed5c = mixedDims[r] == 0 ? null : mixed[r],
                Captions = captions[r],
            };
            try
            {
                record.Validate();
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException($"Feature shard '{Name}': {ex.Message}", ex);
            }

            records.Add(record);
        }

        return records;
    }

    private async Task<float[][]> ReadFloatListsAsync(ParquetRowGroupReader group, string column, int rows, int[] seconds, int[] widths, int only, CancellationToken ct)
    {
        var field = _fields[column];

        // The shard's own layout has a fast path that reads the values straight into per-row arrays.
        var meta = group.GetMetadata(field)?.MetaData;
        var lengths = new int[rows];
        var known = meta is not null && seconds.Length >= rows && widths.Length >= rows;
        for (var r = 0; known && r < rows; r++)
        {
            var n = (long)seconds[r] * widths[r];
            known = n >= 0 && n <= Array.MaxLength;
            lengths[r] = known ? (int)n : 0;
        }

        if (known && _fastFloatLists)
        {
            float[][]? fast;
            try
            {
                fast = await FloatListChunkReader.TryReadAsync(_stream, meta!, field, lengths, ct, only).ConfigureAwait(false);
            }
            catch (InvalidDataException ex)
            {
                throw new InvalidDataException($"Feature shard '{Name}': {ex.Message}", ex);
            }

            if (fast is not null)
            {
                return fast;
            }
        }

        var (values, def, rep) = await ParquetColumns.ReadAsync<float>(group, field, ct).ConfigureAwait(false);
        var result = new float[rows][];
        var row = -1;
        var start = 0;
        var count = 0;
        var consumed = 0;
        for (var i = 0; i < rep.Length; i++)
        {
            if (rep[i] == 0)
            {
                if (row >= 0)
                {
                    result[row] = values.AsSpan(start, count).ToArray();
                }

                row++;
                if (row >= rows)
                {
                    throw new InvalidDataException($"Feature shard '{Name}': column {column} has more lists than the row group has rows.");
                }

                start = consumed;
                count = 0;
            }

            if (def[i] == field.MaxDefinitionLevel)
            {
                count++;
                consumed++;
            }
        }

        if (row >= 0)
        {
            result[row] = values.AsSpan(start, count).ToArray();
        }

        if (row != rows - 1)
        {
            throw new InvalidDataException($"Feature shard '{Name}': column {column} has {row + 1} lists for {rows} rows.");
        }

        // The same check the page reader makes: every row's list, not only the one asked for, has seconds·dim values.
        for (var r = 0; known && r < rows; r++)
        {
            if (result[r].Length != lengths[r])
            {
                throw new InvalidDataException($"Feature shard '{Name}': column {column} holds {result[r].Length} values in row {r}; its seconds·dim give {lengths[r]}.");
            }
        }

        return result;
    }
}
