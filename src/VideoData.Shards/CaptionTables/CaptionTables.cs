using Parquet;
using Parquet.Schema;
using VideoData.Features.Shards;
using VideoData.Storage.Blobs;

namespace VideoData.Pipeline.Run;

/// <summary>
/// The caption tables <c>videodata captions import</c> writes from HowTo100M's <c>raw_caption.json</c> (one Parquet
/// file per import shard, <c>shard-NNNNN.parquet</c>: <c>video_id</c> and <c>segments</c>, a list of
/// <c>(start, end, text, token_ids)</c>, already cleaned and tokenized), looked up by video id so the pipeline joins
/// them into its feature shards. The import shards over the caption file's ids, not over the manifest, so any table
/// may hold any of a shard's videos: a lookup reads the <c>video_id</c> column of every table (a few bytes a video)
/// and decodes the segments of only the row groups that hold a wanted video. Thread-safe (no mutable state).
/// </summary>
internal sealed class CaptionTables
{
    private const string SegmentsPrefix = "segments/list/element/";
    private readonly IBlobStore _store;
    private readonly string _prefix;
    private readonly string _location;

    private CaptionTables(IBlobStore store, string prefix, string location)
    {
        _store = store;
        _prefix = prefix;
        _location = location;
    }

    /// <summary>The tables under <paramref name="location"/> (a folder or an <c>s3://</c> prefix).</summary>
    public static CaptionTables Open(BlobStoreResolver resolver, string location)
    {
        var (store, key) = resolver.Resolve(location);
        return new CaptionTables(store, key.Length == 0 || key.EndsWith('/') ? key : key + "/", location);
    }

    /// <summary>
    /// The cleaned caption segments of each of <paramref name="videoIds"/> that the tables hold (videos without an entry
    /// in raw_caption.json are absent from the result). Throws <see cref="InvalidDataException"/> when the location holds
    /// no tables or a table is not a caption table.
    /// </summary>
    public async Task<Dictionary<string, IReadOnlyList<CaptionSegment>>> LoadAsync(IEnumerable<string> videoIds, CancellationToken cancellationToken)
    {
        var wanted = new HashSet<string>(videoIds, StringComparer.Ordinal);
        var found = new Dictionary<string, IReadOnlyList<CaptionSegment>>(StringComparer.Ordinal);
        var tables = 0;
        await foreach (var blob in _store.ListAsync(_prefix, cancellationToken).ConfigureAwait(false))
        {
            var name = blob.Key[_prefix.Length..];
            if (name.Contains('/', StringComparison.Ordinal) || !name.StartsWith("shard-", StringComparison.Ordinal) || !name.EndsWith(".parquet", StringComparison.Ordinal))
            {
                continue;
            }

            tables++;
            if (found.Count < wanted.Count)
            {
                await ReadTableAsync(blob.Key, wanted, found, cancellationToken).ConfigureAwait(false);
            }
        }

        if (tables == 0)
        {
            throw new InvalidDataException(
                $"captions.tables '{_location}' holds no caption tables (shard-*.parquet): create them with `videodata captions import raw_caption.json --out FOLDER` and point captions.tables at FOLDER.");
        }

        return found;
    }

    private async Task ReadTableAsync(string key, HashSet<string> wanted, Dictionary<string, IReadOnlyList<CaptionSegment>> found, CancellationToken cancellationToken)
    {
        var name = _store.UriOf(key);
        var stream = await _store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            ParquetReader reader;
            try
            {
                reader = await ParquetReader.CreateAsync(stream, null, leaveStreamOpen: true, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new InvalidDataException($"Caption table '{name}' is not a readable Parquet file: {ex.Message}", ex);
            }

            await using (reader.ConfigureAwait(false))
            {
                var fields = reader.Schema.GetDataFields().ToDictionary(f => f.Path.ToString(), StringComparer.Ordinal);
                var columns = new[] { "video_id", SegmentsPrefix + "start", SegmentsPrefix + "end", SegmentsPrefix + "text", SegmentsPrefix + "token_ids/list/element" };
                if (columns.FirstOrDefault(c => !fields.ContainsKey(c)) is { } missing)
                {
                    throw new InvalidDataException($"Caption table '{name}' has no column '{missing}': it was not written by `videodata captions import`.");
                }

                for (var g = 0; g < reader.RowGroupCount; g++)
                {
                    using var group = reader.OpenRowGroupReader(g);
                    var (ids, _, _) = await ReadColumnAsync<ReadOnlyMemory<char>>(group, fields["video_id"], cancellationToken).ConfigureAwait(false);
                    var rows = new Dictionary<int, string>();
                    for (var r = 0; r < ids.Length; r++)
                    {
                        var id = ids[r].ToString();
                        if (wanted.Contains(id) && !found.ContainsKey(id))
                        {
                            rows[r] = id;
                        }
                    }

                    if (rows.Count == 0)
                    {
                        continue;
                    }

                    var segments = await ReadSegmentsAsync(group, fields, ids.Length, name, cancellationToken).ConfigureAwait(false);
                    foreach (var (row, id) in rows)
                    {
                        found[id] = segments[row];
                    }
                }
            }
        }
    }

    /// <summary>Rebuilds every row's segment list of one row group from the four leaf columns' repetition and definition levels.</summary>
    private static async Task<List<CaptionSegment>[]> ReadSegmentsAsync(ParquetRowGroupReader group, Dictionary<string, DataField> fields, int rows, string name, CancellationToken cancellationToken)
    {
        var startField = fields[SegmentsPrefix + "start"];
        var tokenField = fields[SegmentsPrefix + "token_ids/list/element"];
        var (starts, startDef, startRep) = await ReadColumnAsync<double>(group, startField, cancellationToken).ConfigureAwait(false);
        var (ends, _, _) = await ReadColumnAsync<double>(group, fields[SegmentsPrefix + "end"], cancellationToken).ConfigureAwait(false);
        var (texts, _, _) = await ReadColumnAsync<ReadOnlyMemory<char>>(group, fields[SegmentsPrefix + "text"], cancellationToken).ConfigureAwait(false);
        var (tokens, tokenDef, tokenRep) = await ReadColumnAsync<int>(group, tokenField, cancellationToken).ConfigureAwait(false);

        // The segment struct exists where the start leaf reaches its full definition level; a new row begins at
        // repetition level 0. Values are stored only for fully defined leaves, so a counter walks each value array.
        var result = new List<CaptionSegment>[rows];
        var segmentLevel = startField.MaxDefinitionLevel;
        var row = -1;
        var value = 0;
        for (var i = 0; i < startRep.Length; i++)
        {
            if (startRep[i] == 0)
            {
                if (++row >= rows)
                {
                    throw new InvalidDataException($"Caption table '{name}': the segments column has more lists than rows.");
                }

                result[row] = [];
            }

            if (startDef[i] == segmentLevel)
            {
                result[row].Add(new CaptionSegment(starts[value], ends[value], texts[value].ToString(), []));
                value++;
            }
        }

        if (row != rows - 1)
        {
            throw new InvalidDataException($"Caption table '{name}': the segments column has {row + 1} lists for {rows} rows.");
        }

        // token_ids: repetition 0 opens a row, 1 opens the next segment of the row, 2 continues the segment's list.
        row = -1;
        var segment = -1;
        var tokenValue = 0;
        var current = new List<int>();
        for (var i = 0; i < tokenRep.Length; i++)
        {
            if (tokenRep[i] <= 1)
            {
                Flush();
                if (tokenRep[i] == 0)
                {
                    row++;
                    segment = -1;
                }

                if (tokenDef[i] >= segmentLevel)
                {
                    segment++;
                    if (row >= rows || segment >= result[row].Count)
                    {
                        throw new InvalidDataException($"Caption table '{name}': token_ids do not line up with the segments.");
                    }
                }
            }

            if (tokenDef[i] == tokenField.MaxDefinitionLevel)
            {
                current.Add(tokens[tokenValue++]);
            }
        }

        Flush();
        return result;

        void Flush()
        {
            if (row >= 0 && segment >= 0)
            {
                result[row][segment] = result[row][segment] with { TokenIds = [.. current] };
            }

            current.Clear();
        }
    }

    private static async Task<(T[] Values, int[] Definitions, int[] Repetitions)> ReadColumnAsync<T>(ParquetRowGroupReader group, DataField field, CancellationToken cancellationToken)
        where T : struct
    {
        var levels = checked((int)(group.GetMetadata(field)?.MetaData?.NumValues
            ?? throw new InvalidDataException($"Caption table column {field.Path} has no metadata.")));
        var values = new T[levels];
        var definitions = new int[levels];
        var repetitions = new int[levels];
        await group.ReadRawAsync<T>(field, values.AsMemory(), definitions.AsMemory(), repetitions.AsMemory(), cancellationToken).ConfigureAwait(false);
        return (values, definitions, repetitions);
    }
}
