using VideoData.Shards;
using VideoData.Training.Data;

namespace VideoData.Training.Sampling;

/// <summary>
/// The VideoCLIP overlapped clip sampler (DESIGN §3). Every random choice for a video comes from a
/// generator keyed by (seed, epoch, video id), so the clips of a video in an epoch are the same on any
/// worker, in any order, in any process. Thread-safe (holds only options).
/// </summary>
internal sealed class OverlappedClipSampler
{
    /// <summary>Token id of [CLS] in the bert-base-uncased vocabulary.</summary>
    public const long ClsTokenId = 101;

    /// <summary>Token id of [SEP].</summary>
    public const long SepTokenId = 102;

    /// <summary>Token id of [PAD].</summary>
    public const long PadTokenId = 0;

    /// <summary>Creates a sampler; <paramref name="options"/> are validated here.</summary>
    public OverlappedClipSampler(ClipSamplerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Validate();
    }

    /// <summary>The validated options.</summary>
    public ClipSamplerOptions Options { get; }

    /// <summary>
    /// The <see cref="ClipSamplerOptions.ClipsPerVideo"/> clips of <paramref name="video"/> for (<paramref name="seed"/>, <paramref name="epoch"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">The video has no features or no caption segments (the message names it).</exception>
    public ClipSpan[] Sample(VideoRecord video, long seed, int epoch, ClipAlignment alignment = ClipAlignment.Overlapped)
    {
        ArgumentNullException.ThrowIfNull(video);
        video.EnsureSampleable(Options.FeatureDim);
        var rng = DeterministicRandom.For(seed, epoch, alignment == ClipAlignment.Overlapped ? "clips" : "clips.aligned", video.VideoId);
        var clips = new ClipSpan[Options.ClipsPerVideo];
        for (var i = 0; i < clips.Length; i++)
        {
            var center = rng.NextInt(0, video.Segments.Count - 1);
            var budget = rng.NextInt(Options.MinTextTokens, Options.MaxTextTokens);
            var (first, last) = SampleTextSpan(video.Segments, center, budget, rng);
            clips[i] = alignment == ClipAlignment.Overlapped
                ? SampleOverlappedVideo(video, first, last, rng)
                : AlignedVideo(video, first, last);
        }

        return clips;
    }

    /// <summary>
    /// Grows a text span from segment <paramref name="center"/> one whole segment at a time, right or left
    /// by a fair coin (forced at the edges), while it has fewer tokens than <paramref name="budget"/> and
    /// covers less than the time limit. Returns inclusive segment indices.
    /// </summary>
    internal (int First, int Last) SampleTextSpan(IReadOnlyList<CaptionSegment> segments, int center, int budget, DeterministicRandom rng)
    {
        var count = segments.Count;
        int first = center, last = center;
        var tokens = segments[center].TokenIds.Length;
        var span = Math.Max(0, segments[center].End - segments[center].Start);
        while ((first > 0 || last < count - 1) && tokens < budget && span < Options.MaxTextSpanSeconds)
        {
            // The coin is tossed every round, as in the reference, even when one side is closed.
            var right = rng.NextBool();
            if ((right && last < count - 1) || first == 0)
            {
                last++;
                tokens += segments[last].TokenIds.Length;
            }
            else
            {
                first--;
                tokens += segments[first].TokenIds.Length;
            }

            span = Math.Max(0, segments[last].End - segments[first].Start);
        }

        return (first, last);
    }

    private ClipSpan SampleOverlappedVideo(VideoRecord video, int first, int last, DeterministicRandom rng)
    {
        var seconds = video.Seconds;
        var low = (int)Math.Floor(video.Segments[first].Start);
        var high = (int)Math.Ceiling(video.Segments[last].End);
        var center = low < high ? rng.NextInt(low, high) : (int)Math.Floor((low + (double)high) / 2);
        center = Math.Clamp(center, 0, seconds - 1);

        var length = rng.NextInt(Options.MinVideoSeconds, Options.MaxVideoSeconds);
        int start = center, end = center;
        for (var grown = 0; grown < length && (start > 0 || end < seconds); grown++)
        {
            if (start <= 0)
            {
                end++;
            }
            else if (end >= seconds)
            {
                start--;
            }
            else if (rng.NextBool())
            {
                end++;
            }
            else
            {
                start--;
            }
        }

        return new ClipSpan(start, end, first, last + 1);
    }

    private static ClipSpan AlignedVideo(VideoRecord video, int first, int last)
    {
        var seconds = video.Seconds;
        var end = Math.Clamp((int)Math.Ceiling(video.Segments[last].End), 1, seconds);
        var start = Math.Clamp((int)Math.Floor(video.Segments[first].Start), 0, end - 1);
        return new ClipSpan(start, end, first, last + 1);
    }

    /// <summary>
    /// Writes the caption of <paramref name="clip"/>: [CLS] [SEP], the first
    /// <see cref="ClipSamplerOptions.CaptionTextTokens"/> tokens of the text span, [SEP], then [PAD] up to
    /// <see cref="ClipSamplerOptions.CaptionLength"/>; <paramref name="cmasks"/> is true exactly on the non-pad positions.
    /// Returns the number of non-pad positions.
    /// </summary>
    public int WriteCaption(VideoRecord video, ClipSpan clip, Span<long> caps, Span<bool> cmasks)
    {
        ArgumentNullException.ThrowIfNull(video);
        var length = Options.CaptionLength;
        if (caps.Length < length || cmasks.Length < length)
        {
            throw new ArgumentException($"Caption buffers hold {caps.Length}/{cmasks.Length} positions; {length} are needed.", nameof(caps));
        }

        caps = caps[..length];
        cmasks = cmasks[..length];
        caps[0] = ClsTokenId;
        caps[1] = SepTokenId;
        var written = 2;
        var room = Options.CaptionTextTokens;
        for (var s = clip.TextStart; s < clip.TextEnd && room > 0; s++)
        {
            var ids = video.Segments[s].TokenIds;
            var take = Math.Min(room, ids.Length);
            for (var t = 0; t < take; t++)
            {
                caps[written++] = ids[t];
            }

            room -= take;
        }

        caps[written++] = SepTokenId;
        caps[written..].Fill(PadTokenId);
        cmasks[..written].Fill(true);
        cmasks[written..].Fill(false);
        return written;
    }

    /// <summary>
    /// Writes the video of <paramref name="clip"/>: the first <see cref="ClipSamplerOptions.MaxVideoTokens"/>
    /// feature rows of its span into <paramref name="vfeats"/> (<c>[MaxVideoTokens, FeatureDim]</c>, the rest
    /// zero) and <paramref name="vmasks"/> true on the rows written. Returns the number of rows written.
    /// </summary>
    public int WriteVideo(VideoRecord video, ClipSpan clip, Span<float> vfeats, Span<bool> vmasks)
    {
        ArgumentNullException.ThrowIfNull(video);
        var rows = Options.MaxVideoTokens;
        var dim = Options.FeatureDim;
        var used = Math.Min(rows, clip.VideoLength);
        video.Features.AsSpan(clip.VideoStart * dim, used * dim).CopyTo(vfeats);
        vfeats[(used * dim)..(rows * dim)].Clear();
        vmasks[..used].Fill(true);
        vmasks[used..rows].Fill(false);
        return used;
    }

    /// <summary>
    /// Writes the video of <paramref name="clip"/> after token dropout: the rows <paramref name="kept"/> (ascending indices
    /// into the clip's first <see cref="ClipSamplerOptions.MaxVideoTokens"/> rows) into the first slots of
    /// <paramref name="vfeats"/> (<c>[width, FeatureDim]</c>, the rest zero), <paramref name="vmasks"/> true on them, and
    /// <paramref name="positions"/> their index in the clip (0 on unused slots). Returns the number of rows written.
    /// </summary>
    public int WriteVideo(VideoRecord video, ClipSpan clip, ReadOnlySpan<int> kept, int width, Span<float> vfeats, Span<bool> vmasks, Span<long> positions)
    {
        ArgumentNullException.ThrowIfNull(video);
        var dim = Options.FeatureDim;
        var used = Math.Min(Options.MaxVideoTokens, clip.VideoLength);
        if (kept.Length > width)
        {
            throw new ArgumentException($"{kept.Length} kept rows do not fit a width of {width}.", nameof(kept));
        }

        for (var j = 0; j < kept.Length; j++)
        {
            var row = kept[j];
            if (row < 0 || row >= used || (j > 0 && row <= kept[j - 1]))
            {
                throw new ArgumentException($"Kept row {row} at slot {j} is not an ascending index below the clip's {used} rows.", nameof(kept));
            }

            video.Features.AsSpan((clip.VideoStart + row) * dim, dim).CopyTo(vfeats[(j * dim)..]);
            positions[j] = row;
        }

        vfeats[(kept.Length * dim)..(width * dim)].Clear();
        positions[kept.Length..width].Clear();
        vmasks[..kept.Length].Fill(true);
        vmasks[kept.Length..width].Fill(false);
        return kept.Length;
    }
}
