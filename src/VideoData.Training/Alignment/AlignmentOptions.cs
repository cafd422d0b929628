namespace VideoData.Training.Alignment;

/// <summary>How <see cref="CaptionAligner"/> scores and re-times caption segments. Validated when alignment starts.</summary>
internal sealed record AlignmentOptions
{
    /// <summary>W: whole-second offsets in [−W, W] are tried for every segment (8).</summary>
    public int WindowSeconds { get; init; } = 8;

    /// <summary>
    /// Segments whose alignability score is below this are dropped (<see cref="AlignedSegment.Kept"/> false), except each
    /// video's best-scoring segment, which is always kept so that every video stays sampleable (0.3: a cosine; on the synthetic truth corpus it keeps about 9 in 10 related segments and drops most unrelated ones — check the score quantiles `videodata align` prints on your own data).
    /// </summary>
    public double Threshold { get; init; } = 0.3;

    /// <summary>Text captions or video spans per forward pass (256).</summary>
    public int BatchRows { get; init; } = 256;

    /// <summary>Videos fetched and scored together (64); bounds memory to this many videos' spans.</summary>
    public int VideosPerChunk { get; init; } = 64;

    /// <summary>libtorch intra-op threads (0: one per core); the scores repeat exactly on the same count.</summary>
    public int Threads { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public AlignmentOptions Validate()
    {
        if (WindowSeconds is < 1 or > 600)
        {
            throw new ArgumentException($"Alignment option window_seconds = {WindowSeconds} must be in [1, 600].", nameof(WindowSeconds));
        }

        if (!double.IsFinite(Threshold))
        {
            throw new ArgumentException($"Alignment option threshold = {Threshold} must be a finite number.", nameof(Threshold));
        }

        if (BatchRows < 1)
        {
            throw new ArgumentException($"Alignment option BatchRows = {BatchRows} must be at least 1.", nameof(BatchRows));
        }

        if (VideosPerChunk < 1)
        {
            throw new ArgumentException($"Alignment option VideosPerChunk = {VideosPerChunk} must be at least 1.", nameof(VideosPerChunk));
        }

        if (Threads < 0)
        {
            throw new ArgumentException($"Alignment option Threads = {Threads} must not be negative.", nameof(Threads));
        }

        return this;
    }
}
