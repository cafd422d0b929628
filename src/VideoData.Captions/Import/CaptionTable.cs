using System.Text.Json.Serialization;
using Parquet;
using Parquet.Serialization;

namespace VideoData.Captions.Import;

/// <summary>
/// A caption table: Parquet, one row per video, <c>video_id VARCHAR</c> and <c>segments
/// STRUCT(start DOUBLE, end DOUBLE, text VARCHAR, token_ids INTEGER[])[]</c>, rows in shard order.
/// </summary>
internal static class CaptionTable
{
    public const int RowGroupSize = 1024;

    // Parquet.Net's stream pools otherwise keep up to 80 MB of free buffers alive after writing, and
    // without sampling it hashes every value of every column to decide on dictionary encoding.
    private static readonly ParquetOptions Options = new()
    {
        RowGroupSize = RowGroupSize,
        DictionaryEncodingSampleSize = 1024,
        MaximumSmallPoolFreeBytes = 1 << 20,
        MaximumLargePoolFreeBytes = 4 << 20,
    };

    public static async Task WriteAsync(string path, IReadOnlyList<CaptionRow> rows, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var temporary = $"{path}.tmp-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: false))
            {
                await ParquetSerializer.SerializeAsync(rows, stream, Options, metadata, cancellationToken).ConfigureAwait(false);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    public static async Task<IList<CaptionRow>> ReadAsync(string path, CancellationToken cancellationToken = default) =>
        (await ParquetSerializer.DeserializeAsync<CaptionRow>(path, cancellationToken: cancellationToken).ConfigureAwait(false)).Data;
}

/// <summary>One row of a caption table.</summary>
internal sealed class CaptionRow
{
    [JsonPropertyName("video_id")]
    public string VideoId { get; set; } = string.Empty;

    [JsonPropertyName("segments")]
    public List<SegmentRow> Segments { get; set; } = [];

    [JsonIgnore]
    public int Rank { get; set; }
}

/// <summary>One element of a row's segments list.</summary>
internal sealed class SegmentRow
{
    [JsonPropertyName("start")]
    public double Start { get; set; }

    [JsonPropertyName("end")]
    public double End { get; set; }

    [JsonPropertyName("text")]
    public string Text { get; set; } = string.Empty;

    [JsonPropertyName("token_ids")]
    public int[] TokenIds { get; set; } = [];
}
