using System.Text.Json.Serialization;
using Parquet.Serialization.Attributes;

namespace VideoData.Shards;

/// <summary>
/// The feature shard layout (DESIGN §4). One Parquet file, one row per video:
/// <list type="table">
/// <item><term><c>video_id</c></term><description>string, required, unique in the shard.</description></item>
/// <item><term><c>duration</c></term><description>double, seconds.</description></item>
/// <item><term><c>seconds</c></term><description>int32, number of feature rows.</description></item>
/// <item><term><c>dim</c></term><description>int32, width of a feature row (512).</description></item>
/// <item><term><c>features</c></term><description>
/// <c>list&lt;float&gt;</c> of seconds·dim values, row-major [seconds, dim]: any reader gets the
/// matrix with one reshape, e.g. pyarrow <c>np.asarray(row["features"]).reshape(row["seconds"], row["dim"])</c>,
/// DuckDB <c>features[i*dim+1 : (i+1)*dim]</c> for second i. Values are float32; with
/// <see cref="FeatureStorage.Float16Rounded"/> (default, metadata <c>videodata.feature_dtype</c>
/// = <c>float16-rounded-float32</c>) they are rounded to float16 precision as the reference stores them.
/// </description></item>
/// <item><term><c>mixed_5c_dim</c></term><description>int32, 1024 when <c>mixed_5c</c> is present, else 0.</description></item>
/// <item><term><c>mixed_5c</c></term><description><c>list&lt;float&gt;</c>, [seconds, mixed_5c_dim] row-major, empty when absent.</description></item>
/// <item><term><c>captions</c></term><description>
/// <c>list&lt;struct&lt;start: double, end: double, text: string, token_ids: list&lt;int32&gt;&gt;&gt;</c>, empty when none.
/// </description></item>
/// </list>
/// Columns are written uncompressed with PLAIN values: float features barely compress
/// with a general codec (Snappy saved about 2%), and uncompressed pages let <see cref="FeatureShardReader"/> copy
/// each video's values from the file straight into its array. Any codec or page layout another writer chose
/// (shards written before 2026-11-25 used Parquet.Net's default, Snappy) is read through Parquet.Net's general
/// column reader.
/// Row groups hold at most <see cref="FeatureShardWriterOptions.VideosPerRowGroup"/> videos (and at
/// most <see cref="FeatureShardWriterOptions.MaxRowGroupBytes"/> of feature values), so a reader fetches
/// one video by reading the footer and one row group: that group's small columns (ids, sizes, captions) and,
/// in an uncompressed shard, only the video's own bytes of the feature columns (a compressed shard's feature
/// columns are read whole). The footer's key/value metadata carries the lineage (<c>videodata.*</c>, see
/// <see cref="ShardLineage"/>) and the per-video index <c>videodata.index</c>: a JSON object mapping each video
/// id to its row group. Over S3 the read stream adds its minimum range per seek (256 KiB by default) for each
/// small column chunk: measured on s3rver, reading one of 64 one-minute videos from a shard of 8-video row
/// groups fetched 20% of the 7.9 MB shard without read-ahead (23% when the whole row group was read).
/// </summary>
public static class FeatureShardFormat
{
    /// <summary>Metadata key holding <see cref="FormatVersion"/>.</summary>
    public const string FormatKey = "videodata.format";

    /// <summary>The layout version this code writes and reads.</summary>
    public const string FormatVersion = "videodata.feature-shard/1";

    /// <summary>Metadata key of the per-video index (JSON object: video id → row-group number).</summary>
    public const string IndexKey = "videodata.index";

    /// <summary>
    /// Whether the object or file <paramref name="key"/> (a path or blob key; only its last segment counts) is a feature
    /// shard of a shard set: a <c>*.parquet</c> name that does not start with a dot (temporary and hidden files do).
    /// The one rule every reader of a shard set lists shards by.
    /// </summary>
    public static bool IsShardKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var name = key.AsSpan(key.LastIndexOf('/') + 1);
        return name.EndsWith(".parquet", StringComparison.Ordinal) && !name.StartsWith('.');
    }
}

// Parquet.Net's serializer writes these; the reader reads the columns directly.
internal sealed class ShardRow
{
    [JsonPropertyName("video_id")]
    [ParquetRequired]
    public string VideoId { get; set; } = "";

    [JsonPropertyName("duration")]
    public double Duration { get; set; }

    [JsonPropertyName("seconds")]
    public int Seconds { get; set; }

    [JsonPropertyName("dim")]
    public int Dim { get; set; }

    [JsonPropertyName("features")]
    [ParquetRequired]
    [ParquetListElementRequired]
    public float[] Features { get; set; } = [];

    [JsonPropertyName("mixed_5c_dim")]
    public int Mixed5cDim { get; set; }

    [JsonPropertyName("mixed_5c")]
    [ParquetRequired]
    [ParquetListElementRequired]
    public float[] Mixed5c { get; set; } = [];

    [JsonPropertyName("captions")]
    [ParquetRequired]
    public List<ShardCaption> Captions { get; set; } = [];
}

internal sealed class ShardCaption
{
    [JsonPropertyName("start")]
    public double Start { get; set; }

    [JsonPropertyName("end")]
    public double End { get; set; }

    [JsonPropertyName("text")]
    [ParquetRequired]
    public string Text { get; set; } = "";

    [JsonPropertyName("token_ids")]
    [ParquetRequired]
    [ParquetListElementRequired]
    public int[] TokenIds { get; set; } = [];
}
