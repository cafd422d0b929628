using VideoData.Storage.Blobs;

namespace VideoData.Shards;

/// <summary>
/// The caption tables <c>videodata captions import</c> writes from HowTo100M's <c>raw_caption.json</c> (one Parquet
/// file per import shard, <c>shard-NNNNN.parquet</c>: <c>video_id</c> and <c>segments</c>, a list of
/// <c>(start, end, text, token_ids)</c>, already cleaned and tokenized), looked up by video id so the pipeline joins
/// them into its feature shards. The import shards over the caption file's ids, not over the manifest, so any table
/// may hold any of a shard's videos: a lookup reads the <c>video_id</c> column of every table (a few bytes a video)
/// and decodes the segments of only the row groups that hold a wanted video. Thread-safe (no mutable state).
/// </summary>
public sealed class CaptionTables
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
    public async Task<Dictionary<string, IReadOnlyList<CaptionSegment>>> LoadAsync(IEnumerable<string> videoIds, CancellationToken cancellationToken = default)
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
            var reader = await ParquetColumns.OpenAsync(stream, $"Caption table '{name}' is not a readable Parquet file", cancellationToken).ConfigureAwait(false);

            await using (reader.ConfigureAwait(false))
            {
                var fields = ParquetColumns.Leaves(reader);
                var columns = new[] { "video_id", SegmentsPrefix + "start", SegmentsPrefix + "end", SegmentsPrefix + "text", SegmentsPrefix + "token_ids/list/element" };
                if (columns.FirstOrDefault(c => !fields.ContainsKey(c)) is { } missing)
                {
                    throw new InvalidDataException($"Caption table '{name}' has no column '{missing}': it was not written by `videodata captions import`.");
                }

                for (var g = 0; g < reader.RowGroupCount; g++)
                {
                    using var group = reader.OpenRowGroupReader(g);
                    var ids = (await ParquetColumns.ReadAsync<ReadOnlyMemory<char>>(group, fields["video_id"], cancellationToken).ConfigureAwait(false)).Values;
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

                    var segments = await ParquetColumns.ReadCaptionListsAsync(group, fields, SegmentsPrefix, ids.Length, $"Caption table '{name}'", cancellationToken).ConfigureAwait(false);
                    foreach (var (row, id) in rows)
                    {
                        found[id] = segments[row];
                    }
                }
            }
        }
    }
}
