using System.Globalization;
using Parquet;
using Parquet.Schema;
using VideoData.Storage.Blobs;

namespace VideoData.Training.Alignment;

/// <summary>One caption segment's alignment: where the captions put it, where the model puts it, and how sure it is.</summary>
/// <param name="VideoId">The video.</param>
/// <param name="Segment">The segment's index in the video's caption list (as the feature shard stores it).</param>
/// <param name="OriginalStart">Start in the captions, seconds.</param>
/// <param name="OriginalEnd">End in the captions, seconds.</param>
/// <param name="AlignedStart">Start after re-timing, seconds (the original moved by a whole number of seconds, clamped to the video).</param>
/// <param name="AlignedEnd">End after re-timing, seconds.</param>
/// <param name="Score">Alignability: the cosine similarity of the segment's text with its best-matching span in the window, in [−1, 1] (see <see cref="CaptionAligner"/>).</param>
/// <param name="Kept">Whether the sampler may draw this segment (score at or above the threshold, or the video's best segment).</param>
internal sealed record AlignedSegment(
    string VideoId,
    int Segment,
    double OriginalStart,
    double OriginalEnd,
    double AlignedStart,
    double AlignedEnd,
    double Score,
    bool Kept)
{
    /// <summary>Aligned minus original start, seconds.</summary>
    public double OffsetSeconds => AlignedStart - OriginalStart;
}

/// <summary>Where an alignment table came from.</summary>
/// <param name="Checkpoint">The model checkpoint (folder or description) whose towers scored the segments.</param>
/// <param name="Epoch">The epoch the table is for (the one about to start when it was made between epochs), or null when made by hand.</param>
/// <param name="WindowSeconds">W: offsets in [−W, W] seconds were tried.</param>
/// <param name="Threshold">Segments scoring below this were dropped (except each video's best).</param>
internal sealed record AlignmentLineage(string Checkpoint, int? Epoch, int WindowSeconds, double Threshold);

/// <summary>
/// An aligned caption table (Parquet), one row per caption segment: <c>video_id</c>, <c>segment</c>,
/// <c>original_start</c>, <c>original_end</c>, <c>aligned_start</c>, <c>aligned_end</c>, <c>score</c>, <c>kept</c>,
/// with the lineage in the key/value metadata (<c>videodata.alignment.checkpoint</c>, <c>.epoch</c>, <c>.window_seconds</c>,
/// <c>.threshold</c>, <c>.score</c>). Rows are in video then segment order.
/// </summary>
internal sealed record AlignmentTable(AlignmentLineage Lineage, IReadOnlyList<AlignedSegment> Segments)
{
    internal const string CheckpointKey = "videodata.alignment.checkpoint";
    internal const string EpochKey = "videodata.alignment.epoch";
    internal const string WindowKey = "videodata.alignment.window_seconds";
    internal const string ThresholdKey = "videodata.alignment.threshold";
    internal const string ScoreKey = "videodata.alignment.score";

    /// <summary>The score definition written to the metadata, so a reader knows what the numbers mean.</summary>
    public const string ScoreDefinition = "max over whole-second offsets in [-W, W] of cosine(text tower(segment), video tower(moved span))";

    private static readonly DataField<string> s_videoId = new("video_id", nullable: false);
    private static readonly DataField<int> s_segment = new("segment", nullable: false);
    private static readonly DataField<double> s_originalStart = new("original_start", nullable: false);
    private static readonly DataField<double> s_originalEnd = new("original_end", nullable: false);
    private static readonly DataField<double> s_alignedStart = new("aligned_start", nullable: false);
    private static readonly DataField<double> s_alignedEnd = new("aligned_end", nullable: false);
    private static readonly DataField<double> s_score = new("score", nullable: false);
    private static readonly DataField<bool> s_kept = new("kept", nullable: false);
    private static readonly ParquetSchema s_schema = new(s_videoId, s_segment, s_originalStart, s_originalEnd, s_alignedStart, s_alignedEnd, s_score, s_kept);

    /// <summary>The rows of each video, keyed by video id, in segment order.</summary>
    public IReadOnlyDictionary<string, AlignedSegment[]> ByVideo() =>
        Segments.GroupBy(s => s.VideoId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.OrderBy(s => s.Segment).ToArray(), StringComparer.Ordinal);

    /// <summary>Writes <paramref name="table"/> to <paramref name="target"/> (a local path or a store object) atomically (temporary file, flush, rename).</summary>
    public static async Task WriteAsync(AlignmentTable table, OutputTarget target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentException.ThrowIfNullOrEmpty(target.Name, nameof(target));
        var rows = table.Segments;
        await target.WriteAsync(async (stream, cancellationToken) =>
        {
            var writer = await ParquetWriter.CreateAsync(s_schema, stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            await using (writer.ConfigureAwait(false))
            {
                var metadata = new Dictionary<string, string>
                {
                    [CheckpointKey] = table.Lineage.Checkpoint,
                    [WindowKey] = table.Lineage.WindowSeconds.ToString(CultureInfo.InvariantCulture),
                    [ThresholdKey] = table.Lineage.Threshold.ToString("R", CultureInfo.InvariantCulture),
                    [ScoreKey] = ScoreDefinition,
                };
                if (table.Lineage.Epoch is { } epoch)
                {
                    metadata[EpochKey] = epoch.ToString(CultureInfo.InvariantCulture);
                }

                writer.CustomMetadata = metadata;
                using var group = writer.CreateRowGroup();
                await group.WriteAsync(s_videoId, rows.Select(r => r.VideoId).ToArray()).ConfigureAwait(false);
                await group.WriteAsync<int>(s_segment, rows.Select(r => r.Segment).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.WriteAsync<double>(s_originalStart, rows.Select(r => r.OriginalStart).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.WriteAsync<double>(s_originalEnd, rows.Select(r => r.OriginalEnd).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.WriteAsync<double>(s_alignedStart, rows.Select(r => r.AlignedStart).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.WriteAsync<double>(s_alignedEnd, rows.Select(r => r.AlignedEnd).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.WriteAsync<double>(s_score, rows.Select(r => r.Score).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.WriteAsync<bool>(s_kept, rows.Select(r => r.Kept).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a table written by <see cref="WriteAsync"/> (or by any tool writing the same columns and metadata).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a well-formed alignment table; the message names it and the problem.</exception>
    public static async Task<AlignmentTable> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Alignment table '{path}' does not exist.", path);
        }

        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"Alignment table '{path}' is not a readable Parquet file: {ex.Message}", ex);
        }

        await using (reader.ConfigureAwait(false))
        {
            var meta = reader.CustomMetadata;
            var lineage = new AlignmentLineage(
                meta.TryGetValue(CheckpointKey, out var checkpoint) ? checkpoint : "external",
                meta.TryGetValue(EpochKey, out var e) ? ParseInt(path, EpochKey, e) : null,
                meta.TryGetValue(WindowKey, out var w) ? ParseInt(path, WindowKey, w) : throw new InvalidDataException($"Alignment table '{path}' lacks the metadata key '{WindowKey}'."),
                meta.TryGetValue(ThresholdKey, out var t) && double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var threshold)
                    ? threshold
                    : throw new InvalidDataException($"Alignment table '{path}' lacks a numeric metadata value '{ThresholdKey}'."));
            var fields = reader.Schema.GetDataFields();
            var rows = new List<AlignedSegment>();
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var n = checked((int)group.RowCount);
                var ids = new string[n];
                var segment = new int[n];
                var os = new double[n];
                var oe = new double[n];
                var @as = new double[n];
                var ae = new double[n];
                var score = new double[n];
                var kept = new bool[n];
                await group.ReadAsync(Field(path, fields, "video_id", typeof(string)), ids, cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.ReadAsync<int>(Field(path, fields, "segment", typeof(int)), segment, cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.ReadAsync<double>(Field(path, fields, "original_start", typeof(double)), os, cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.ReadAsync<double>(Field(path, fields, "original_end", typeof(double)), oe, cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.ReadAsync<double>(Field(path, fields, "aligned_start", typeof(double)), @as, cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.ReadAsync<double>(Field(path, fields, "aligned_end", typeof(double)), ae, cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.ReadAsync<double>(Field(path, fields, "score", typeof(double)), score, cancellationToken: cancellationToken).ConfigureAwait(false);
                await group.ReadAsync<bool>(Field(path, fields, "kept", typeof(bool)), kept, cancellationToken: cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < n; i++)
                {
                    if (segment[i] < 0 || !double.IsFinite(@as[i]) || !double.IsFinite(ae[i]) || ae[i] < @as[i])
                    {
                        throw new InvalidDataException(
                            $"Alignment table '{path}': row {rows.Count} (video '{ids[i]}', segment {segment[i]}) has a negative segment index or bad aligned times ({@as[i]}, {ae[i]}).");
                    }

                    rows.Add(new AlignedSegment(ids[i], segment[i], os[i], oe[i], @as[i], ae[i], score[i], kept[i]));
                }
            }

            return new AlignmentTable(lineage, rows);
        }
    }

    private static int ParseInt(string path, string key, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw new InvalidDataException($"Alignment table '{path}': metadata '{key}' = '{value}' is not an int32.");

    private static DataField Field(string path, DataField[] fields, string name, Type type)
    {
        var field = fields.FirstOrDefault(f => f.Name == name)
            ?? throw new InvalidDataException($"Alignment table '{path}' has no column '{name}'.");
        var clr = field.ClrType == typeof(ReadOnlyMemory<char>) ? typeof(string) : field.ClrType;
        if (clr != type || field.IsArray)
        {
            throw new InvalidDataException($"Alignment table '{path}': column '{name}' is {field.ClrType.Name}, expected {type.Name}.");
        }

        return field;
    }
}
