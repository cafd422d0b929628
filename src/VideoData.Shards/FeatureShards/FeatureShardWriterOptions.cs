namespace VideoData.Shards;

/// <summary>Settings of a <see cref="FeatureShardWriter"/>, validated when the writer is created.</summary>
public sealed class FeatureShardWriterOptions
{
    /// <summary>
    /// Videos per Parquet row group (1–4096, default 16). Smaller means less read amplification when
    /// fetching one video, larger means fewer, bigger column chunks for full scans.
    /// </summary>
    public int VideosPerRowGroup { get; set; } = 16;

    /// <summary>
    /// A row group is also closed once its buffered feature values reach this many bytes (default
    /// 256 MiB, at least 1 MiB), which bounds the writer's memory for long videos.
    /// </summary>
    public long MaxRowGroupBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>How feature values are stored (default <see cref="FeatureStorage.Float16Rounded"/>, like the reference).</summary>
    public FeatureStorage Storage { get; set; } = FeatureStorage.Float16Rounded;

    /// <summary>
    /// The Parquet codec of every column: none (default), which lets readers copy feature values straight from the
    /// file (see <see cref="FeatureShardFormat"/>). Shards written before 2026-11-25 used Snappy; tests write that
    /// layout and others through this, to check they read back through the general reader.
    /// </summary>
    internal Parquet.CompressionMethod Compression { get; set; } = Parquet.CompressionMethod.None;

    internal FeatureShardWriterOptions Validated()
    {
        if (VideosPerRowGroup is < 1 or > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(VideosPerRowGroup), VideosPerRowGroup, "VideosPerRowGroup must be between 1 and 4096.");
        }

        if (MaxRowGroupBytes < 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRowGroupBytes), MaxRowGroupBytes, "MaxRowGroupBytes must be at least 1 MiB.");
        }

        if (!Enum.IsDefined(Storage))
        {
            throw new ArgumentOutOfRangeException(nameof(Storage), Storage, "Storage must be Float16Rounded or Float32.");
        }

        return new FeatureShardWriterOptions { VideosPerRowGroup = VideosPerRowGroup, MaxRowGroupBytes = MaxRowGroupBytes, Storage = Storage, Compression = Compression };
    }
}
