using VideoData.Shards;

namespace VideoData.Training.Data;

/// <summary>
/// What training needs of one video: its per-second features, row-major
/// <c>[Seconds, FeatureDim]</c>, and its caption segments in time order.
/// </summary>
/// <param name="VideoId">The corpus id.</param>
/// <param name="FeatureDim">Width of one feature row (512 for S3D-G <c>video_embedding</c>).</param>
/// <param name="Features">The feature rows, length a positive multiple of <paramref name="FeatureDim"/>. Treated as read-only.</param>
/// <param name="Segments">The caption segments; at least one for a video to be sampled.</param>
public sealed record VideoRecord(string VideoId, int FeatureDim, float[] Features, IReadOnlyList<CaptionSegment> Segments)
{
    /// <summary>Number of feature rows (seconds of video).</summary>
    public int Seconds => FeatureDim == 0 ? 0 : Features.Length / FeatureDim;

    /// <summary>
    /// Throws <see cref="InvalidDataException"/> naming the video when it cannot be sampled: no features,
    /// a feature buffer that is not whole rows, no caption segments, or a non-finite segment time.
    /// </summary>
    public void EnsureSampleable(int expectedFeatureDim)
    {
        if (FeatureDim != expectedFeatureDim)
        {
            throw new InvalidDataException($"Video '{VideoId}' has {FeatureDim}-d features; the sampler is configured for {expectedFeatureDim}-d.");
        }

        if (Features.Length == 0 || Features.Length % FeatureDim != 0)
        {
            throw new InvalidDataException($"Video '{VideoId}' has {Features.Length} feature values, not a positive whole number of {FeatureDim}-d rows.");
        }

        if (Segments.Count == 0)
        {
            throw new InvalidDataException($"Video '{VideoId}' has no caption segments; clips need text.");
        }

        for (var i = 0; i < Segments.Count; i++)
        {
            var s = Segments[i];
            if (!double.IsFinite(s.Start) || !double.IsFinite(s.End))
            {
                throw new InvalidDataException($"Video '{VideoId}': caption segment {i} has a non-finite time ({s.Start}, {s.End}).");
            }
        }
    }
}
