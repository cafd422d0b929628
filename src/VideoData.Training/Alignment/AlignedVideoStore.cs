using VideoData.Shards;
using VideoData.Training.Data;

namespace VideoData.Training.Alignment;

/// <summary>
/// The videos of another store with their captions re-timed by an <see cref="AlignmentTable"/>: each video's kept
/// segments at their aligned times, in aligned-start order (ties in segment order); dropped segments are gone. With no
/// table (the default, and the reference behaviour) videos pass through unchanged. The clip sampler draws from what
/// this store returns, so it honours aligned times and drops exactly the segments the table does not keep.
/// </summary>
/// <remarks>
/// Invariants: a table applies only if it has one row per caption segment of the video with the segment's original
/// times (anything else is a table made for other captions, and is an error naming the video); the features are
/// never touched; <see cref="Use"/> swaps the table atomically, so a batch assembled concurrently sees the old table
/// or the new one, and the trainer swaps it only between epochs. Safe for concurrent readers.
/// </remarks>
internal sealed class AlignedVideoStore : IVideoStore
{
    private readonly IVideoStore _inner;
    private volatile Snapshot? _current;

    /// <summary>Wraps <paramref name="inner"/>, with no alignment applied yet.</summary>
    public AlignedVideoStore(IVideoStore inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    /// <summary>The store with the original caption times.</summary>
    public IVideoStore Original => _inner;

    /// <summary>The table applied now, or null for the original captions.</summary>
    public AlignmentTable? Table => _current?.Table;

    /// <inheritdoc />
    public IReadOnlyList<string> VideoIds => _inner.VideoIds;

    /// <inheritdoc />
    public int FeatureDim => _inner.FeatureDim;

    /// <summary>Applies <paramref name="table"/> from now on (null: the original captions).</summary>
    public void Use(AlignmentTable? table) => _current = table is null ? null : new Snapshot(table, table.ByVideo());

    /// <inheritdoc />
    public async ValueTask<VideoRecord> GetAsync(string videoId, CancellationToken cancellationToken = default)
    {
        var video = await _inner.GetAsync(videoId, cancellationToken).ConfigureAwait(false);
        var current = _current;
        return current is null ? video : Apply(video, current);
    }

    /// <summary><paramref name="video"/> with the captions <paramref name="rows"/> describe (its rows of an alignment table).</summary>
    internal static VideoRecord Apply(VideoRecord video, IReadOnlyList<AlignedSegment> rows, string table = "the alignment table")
    {
        if (rows.Count != video.Segments.Count)
        {
            throw new InvalidDataException(
                $"Video '{video.VideoId}' has {video.Segments.Count} caption segments but {table} has {rows.Count} rows for it: the table was made for other captions.");
        }

        var kept = new List<(double Start, int Index, CaptionSegment Segment)>();
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var original = video.Segments[i];
            if (row.Segment != i || Math.Abs(row.OriginalStart - original.Start) > 1e-6 || Math.Abs(row.OriginalEnd - original.End) > 1e-6)
            {
                throw new InvalidDataException(
                    $"Video '{video.VideoId}': {table} row for segment {row.Segment} says [{row.OriginalStart}, {row.OriginalEnd}) but segment {i} is [{original.Start}, {original.End}): the table was made for other captions.");
            }

            if (row.Kept)
            {
                kept.Add((row.AlignedStart, i, original with { Start = row.AlignedStart, End = row.AlignedEnd }));
            }
        }

        if (kept.Count == 0)
        {
            throw new InvalidDataException($"Video '{video.VideoId}': {table} keeps none of its {rows.Count} caption segments; a video needs at least one to be sampled.");
        }

        var segments = kept.OrderBy(k => k.Start).ThenBy(k => k.Index).Select(k => k.Segment).ToArray();
        return video with { Segments = segments };
    }

    private static VideoRecord Apply(VideoRecord video, Snapshot current) =>
        current.Rows.TryGetValue(video.VideoId, out var rows)
            ? Apply(video, rows, $"alignment table ({current.Table.Lineage.Checkpoint}, epoch {current.Table.Lineage.Epoch?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"})")
            : throw new InvalidDataException($"Video '{video.VideoId}' has no rows in the alignment table ({current.Table.Lineage.Checkpoint}); the table was made for other videos.");

    private sealed record Snapshot(AlignmentTable Table, IReadOnlyDictionary<string, AlignedSegment[]> Rows);
}
