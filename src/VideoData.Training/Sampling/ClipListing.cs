using VideoData.Training.Data;

namespace VideoData.Training.Sampling;

/// <summary>
/// One clip as training draws it, described for a person: where it lies in the video and in the captions, and how much
/// of it reaches the model.
/// </summary>
/// <param name="Clip">The clip's index among the video's clips of the epoch (0-based; the batch order).</param>
/// <param name="Span">The video span <c>[VideoStart, VideoEnd)</c> in seconds and the caption segment range <c>[TextStart, TextEnd)</c>.</param>
/// <param name="VideoTokens">Feature rows that reach the model (the span, cut at <see cref="ClipSamplerOptions.MaxVideoTokens"/>).</param>
/// <param name="TextStartSeconds">Start time of the first caption segment of the span.</param>
/// <param name="TextEndSeconds">End time of the last caption segment of the span.</param>
/// <param name="SpanTokens">WordPiece tokens in the caption segments of the span.</param>
/// <param name="CaptionTokens">Of those, the tokens that reach the model (cut at <see cref="ClipSamplerOptions.CaptionTextTokens"/>).</param>
/// <param name="Text">The segments' texts joined by spaces, or null when the texts are not known.</param>
internal sealed record ClipDescription(
    int Clip, ClipSpan Span, int VideoTokens, double TextStartSeconds, double TextEndSeconds, int SpanTokens, int CaptionTokens, string? Text);

/// <summary>Describes the clips the overlapped sampler draws for one video in one epoch, through the sampler itself.</summary>
internal static class ClipListing
{
    /// <summary>
    /// The clips <see cref="OverlappedClipSampler"/> draws for <paramref name="video"/> in (<paramref name="seed"/>,
    /// <paramref name="epoch"/>) with <paramref name="options"/> — the same call, with the same arguments, the batch
    /// streamer makes — and how many video and caption tokens each passes to the model (counted by writing them as the
    /// streamer does).
    /// </summary>
    /// <param name="video">The video, as the training store returns it.</param>
    /// <param name="segmentTexts">The text of each caption segment (same count and order as the video's segments), or null.</param>
    /// <param name="options">The sampler options of the training run.</param>
    /// <param name="seed">The run seed (a plan's <see cref="Plans.BatchPlan.Seed"/>).</param>
    /// <param name="epoch">The epoch (a plan's <see cref="Plans.BatchPlan.Epoch"/>).</param>
    /// <exception cref="ArgumentException"><paramref name="segmentTexts"/> does not have one text per segment.</exception>
    /// <exception cref="InvalidDataException">The video cannot be sampled (no captions, no features); the message names it.</exception>
    public static IReadOnlyList<ClipDescription> Describe(VideoRecord video, IReadOnlyList<string>? segmentTexts, ClipSamplerOptions options, long seed, int epoch)
    {
        ArgumentNullException.ThrowIfNull(video);
        ArgumentNullException.ThrowIfNull(options);
        if (segmentTexts is not null && segmentTexts.Count != video.Segments.Count)
        {
            throw new ArgumentException($"Video '{video.VideoId}' has {video.Segments.Count} caption segments but {segmentTexts.Count} texts were given.", nameof(segmentTexts));
        }

        var sampler = new OverlappedClipSampler(options);
        var spans = sampler.Sample(video, seed, epoch, ClipAlignment.Overlapped);
        var o = sampler.Options;
        var caps = new long[o.CaptionLength];
        var cmasks = new bool[o.CaptionLength];
        var vfeats = new float[o.MaxVideoTokens * o.FeatureDim];
        var vmasks = new bool[o.MaxVideoTokens];
        var clips = new List<ClipDescription>(spans.Length);
        for (var i = 0; i < spans.Length; i++)
        {
            var span = spans[i];
            // [CLS] [SEP] text [SEP]: the caption's non-pad positions less the three specials.
            var captionTokens = sampler.WriteCaption(video, span, caps, cmasks) - 3;
            var videoTokens = sampler.WriteVideo(video, span, vfeats, vmasks);
            var segments = Enumerable.Range(span.TextStart, span.TextEnd - span.TextStart).ToList();
            clips.Add(new ClipDescription(
                i,
                span,
                videoTokens,
                video.Segments[span.TextStart].Start,
                video.Segments[span.TextEnd - 1].End,
                segments.Sum(s => video.Segments[s].TokenIds.Length),
                captionTokens,
                segmentTexts is null ? null : string.Join(' ', segments.Select(s => segmentTexts[s]))));
        }

        return clips;
    }
}
