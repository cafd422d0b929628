namespace VideoData.Shards;

/// <summary>
/// One row of a feature shard: a video's per-second features and its captions.
/// <see cref="Features"/> is row-major [<see cref="Seconds"/>, <see cref="Dim"/>];
/// <see cref="Mixed5c"/>, when present, is [<see cref="Seconds"/>, <see cref="Mixed5cDim"/>].
/// </summary>
public sealed record FeatureRecord
{
    /// <summary>The video id (manifest key), unique within a shard.</summary>
    public required string VideoId { get; init; }

    /// <summary>The video's duration in seconds, as decoded.</summary>
    public required double Duration { get; init; }

    /// <summary>Feature rows: one per started second, ceil(duration) for a complete decode.</summary>
    public required int Seconds { get; init; }

    /// <summary>Width of a feature row (512 for S3D-G <c>video_embedding</c>).</summary>
    public int Dim { get; init; } = 512;

    /// <summary>Seconds·Dim values, row-major.</summary>
    public required float[] Features { get; init; }

    /// <summary>Width of a <see cref="Mixed5c"/> row (1024), or 0 when absent.</summary>
    public int Mixed5cDim { get; init; }

    /// <summary>Seconds·Mixed5cDim values, row-major, or <see langword="null"/> when not extracted.</summary>
    public float[]? Mixed5c { get; init; }

    /// <summary>The cleaned caption segments, in time order; empty when the video has none.</summary>
    public IReadOnlyList<CaptionSegment> Captions { get; init; } = [];

    /// <summary>Checks the record's shape invariants; throws <see cref="ArgumentException"/> naming the video and the field.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(VideoId))
        {
            throw new ArgumentException("A feature record needs a non-empty VideoId.");
        }

        if (Seconds < 0 || Dim <= 0 || Features is null || Features.LongLength != (long)Seconds * Dim)
        {
            throw new ArgumentException($"Feature record '{VideoId}': Features has {Features?.Length} values, expected Seconds·Dim = {Seconds}·{Dim}.");
        }

        if ((Mixed5c is null) != (Mixed5cDim == 0) || (Mixed5c is not null && Mixed5c.LongLength != (long)Seconds * Mixed5cDim))
        {
            throw new ArgumentException($"Feature record '{VideoId}': Mixed5c has {Mixed5c?.Length} values with Mixed5cDim {Mixed5cDim}, expected Seconds·Mixed5cDim or none with Mixed5cDim 0.");
        }

        if (!double.IsFinite(Duration) || Duration < 0)
        {
            throw new ArgumentException($"Feature record '{VideoId}': Duration {Duration} is not a finite non-negative number of seconds.");
        }
    }
}
