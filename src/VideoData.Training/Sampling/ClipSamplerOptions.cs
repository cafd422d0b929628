namespace VideoData.Training.Sampling;

/// <summary>
/// Parameters of the VideoCLIP overlapped clip sampler (DESIGN §3). The defaults are the reference's
/// pretraining values. Validated once by <see cref="Validate"/> (the sampler and streamer call it).
/// </summary>
public sealed record ClipSamplerOptions
{
    /// <summary>Clips sampled per video per epoch (<c>clip_per_video</c>, 16).</summary>
    public int ClipsPerVideo { get; init; } = 16;

    /// <summary>Lower bound of the random text budget in tokens (<c>sampled_min_len</c>, 8).</summary>
    public int MinTextTokens { get; init; } = 8;

    /// <summary>Upper bound of the random text budget in tokens (<c>sampled_max_len</c>, 64).</summary>
    public int MaxTextTokens { get; init; } = 64;

    /// <summary>Lower bound of the random video length in seconds (<c>sampled_video_min_len</c>, 3).</summary>
    public int MinVideoSeconds { get; init; } = 3;

    /// <summary>Upper bound of the random video length in seconds (<c>sampled_video_max_len</c>, 32).</summary>
    public int MaxVideoSeconds { get; init; } = 32;

    /// <summary>Video tokens per clip, the first dimension of <c>vfeats</c> (<c>max_video_len</c>, 32).</summary>
    public int MaxVideoTokens { get; init; } = 32;

    /// <summary>Caption sequence length including [CLS] [SEP] … [SEP] and padding (<c>max_len − max_video_len</c>, 64).</summary>
    public int CaptionLength { get; init; } = 64;

    /// <summary>The text span stops growing once it covers this many seconds (256).</summary>
    public double MaxTextSpanSeconds { get; init; } = 256;

    /// <summary>Width of a feature row (512).</summary>
    public int FeatureDim { get; init; } = 512;

    /// <summary>Text tokens that fit in a caption: <see cref="CaptionLength"/> − 3 (61 by default).</summary>
    public int CaptionTextTokens => CaptionLength - 3;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public ClipSamplerOptions Validate()
    {
        Check(ClipsPerVideo >= 1, nameof(ClipsPerVideo), ClipsPerVideo, "must be at least 1");
        Check(MinTextTokens >= 1, nameof(MinTextTokens), MinTextTokens, "must be at least 1");
        Check(MaxTextTokens >= MinTextTokens, nameof(MaxTextTokens), MaxTextTokens, $"must be at least {nameof(MinTextTokens)} ({MinTextTokens})");
        Check(MinVideoSeconds >= 1, nameof(MinVideoSeconds), MinVideoSeconds, "must be at least 1");
        Check(MaxVideoSeconds >= MinVideoSeconds, nameof(MaxVideoSeconds), MaxVideoSeconds, $"must be at least {nameof(MinVideoSeconds)} ({MinVideoSeconds})");
        Check(MaxVideoTokens >= 1, nameof(MaxVideoTokens), MaxVideoTokens, "must be at least 1");
        Check(CaptionLength >= 4, nameof(CaptionLength), CaptionLength, "must be at least 4 ([CLS] [SEP] one token [SEP])");
        Check(MaxTextSpanSeconds > 0 && double.IsFinite(MaxTextSpanSeconds), nameof(MaxTextSpanSeconds), MaxTextSpanSeconds, "must be a positive number");
        Check(FeatureDim >= 1, nameof(FeatureDim), FeatureDim, "must be at least 1");
        return this;
    }

    private static void Check(bool ok, string name, object value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentException($"Clip sampler option {name} = {value} {rule}.", name);
        }
    }
}
