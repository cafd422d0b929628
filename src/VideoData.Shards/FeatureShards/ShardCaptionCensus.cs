using VideoData.Storage.Blobs;

namespace VideoData.Shards;

/// <summary>
/// Finds the videos of a feature shard set that have no caption segments by reading only two small columns
/// of each row group — <c>video_id</c> and <c>captions.list.element.start</c> (DESIGN §4) — never the
/// features. Over S3 that is a few ranged reads per row group, so a plan can leave captionless videos out
/// before training without a pass over the data.
/// </summary>
public static class ShardCaptionCensus
{
    private const string IdColumn = "video_id";
    private const string StartColumn = "captions/list/element/start";

    /// <summary>
    /// Every video of the shards under <paramref name="prefix"/> (the objects <see cref="FeatureShardFormat.IsShardKey"/> accepts, which training's
    /// feature-shard store opens) and the ids of those with no caption segment.
    /// </summary>
    /// <exception cref="InvalidDataException">A shard is unreadable or lacks the two columns; the message names it.</exception>
    public static async Task<(int Videos, IReadOnlySet<string> WithoutCaptions)> CountAsync(IBlobStore blobs, string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(prefix);
        var videos = 0;
        var without = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var blob in blobs.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (!FeatureShardFormat.IsShardKey(blob.Key))
            {
                continue;
            }

            var stream = await blobs.OpenReadAsync(blob.Key, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                videos += await CountShardAsync(stream, blobs.UriOf(blob.Key), without, cancellationToken).ConfigureAwait(false);
            }
        }

        return (videos, without);
    }

    /// <summary>
    /// Like <see cref="CountAsync"/>, and also every video id, shard by shard in listing order and row order within a shard
    /// (the order <c>FeatureShardVideoStore</c> lists them in). Holds nothing of a shard once it is read, so planning over
    /// hundreds of shards needs memory for the ids alone, not for every shard's Parquet footer (with 16 videos a row group,
    /// a 4096-video shard's footer is about 3 MB in memory: about 1 GB over HowTo100M's 298 shards).
    /// </summary>
    /// <exception cref="InvalidDataException">A shard is unreadable or lacks the two columns; the message names it.</exception>
    public static async Task<(IReadOnlyList<string> VideoIds, IReadOnlySet<string> WithoutCaptions, int Shards)> ReadIdsAsync(IBlobStore blobs, string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(prefix);
        var ids = new List<string>();
        var without = new HashSet<string>(StringComparer.Ordinal);
        var shards = 0;
        await foreach (var blob in blobs.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (!FeatureShardFormat.IsShardKey(blob.Key))
            {
                continue;
            }

            shards++;
            var stream = await blobs.OpenReadAsync(blob.Key, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                await CountShardAsync(stream, blobs.UriOf(blob.Key), without, cancellationToken, ids).ConfigureAwait(false);
            }
        }

        return (ids, without, shards);
    }

    private static async Task<int> CountShardAsync(Stream stream, string name, HashSet<string> without, CancellationToken cancellationToken, List<string>? allIds = null)
    {
        var reader = await ParquetColumns.OpenAsync(stream, $"Feature shard '{name}' is not a readable Parquet file", cancellationToken).ConfigureAwait(false);

        await using (reader.ConfigureAwait(false))
        {
            var fields = ParquetColumns.Leaves(reader);
            if (!fields.TryGetValue(IdColumn, out var idField) || !fields.TryGetValue(StartColumn, out var startField))
            {
                throw new InvalidDataException($"Feature shard '{name}' lacks the column {IdColumn} or {StartColumn}; it is not a VideoData feature shard.");
            }

            var rows = 0;
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var count = checked((int)group.RowCount);
                var ids = (await ParquetColumns.ReadAsync<ReadOnlyMemory<char>>(group, idField, cancellationToken).ConfigureAwait(false)).Values;
                var (_, def, rep) = await ParquetColumns.ReadAsync<double>(group, startField, cancellationToken).ConfigureAwait(false);
                // Each row's list begins at repetition level 0; the row has a segment when some entry of its list
                // reaches the column's full definition level (an empty list stops short of it).
                var captioned = new bool[count];
                var row = -1;
                for (var i = 0; i < rep.Length; i++)
                {
                    if (rep[i] == 0 && ++row >= count)
                    {
                        throw new InvalidDataException($"Feature shard '{name}', row group {g}: the captions column has more lists than the {count} rows.");
                    }

                    if (row < 0)
                    {
                        throw new InvalidDataException($"Feature shard '{name}', row group {g}: the captions column does not start a row at its first value.");
                    }

                    captioned[row] |= def[i] == startField.MaxDefinitionLevel;
                }

                if (row != count - 1 || ids.Length < count)
                {
                    throw new InvalidDataException($"Feature shard '{name}', row group {g}: {row + 1} caption lists and {ids.Length} ids for {count} rows.");
                }

                for (var r = 0; r < count; r++)
                {
                    var id = !captioned[r] || allIds is not null ? ids[r].ToString() : null;
                    if (!captioned[r])
                    {
                        without.Add(id!);
                    }

                    allIds?.Add(id!);
                }

                rows += count;
            }

            return rows;
        }
    }
}
