using VideoData.Features.Runtime;
using VideoData.Shards;
using VideoData.Training.Data;
using VideoData.Training.Model;
using VideoData.Training.Sampling;
using static TorchSharp.torch;

namespace VideoData.Training.Alignment;

/// <summary>
/// TAN-style caption alignment with the current model: for every caption segment, the text tower embeds the segment
/// alone (laid out as a clip's caption), the video tower embeds the segment's seconds moved by every whole-second
/// offset δ in [−W, W] (each span laid out as a clip's video, so the model sees what it sees in training), and the
/// cosine similarity of the two picks the best offset.
/// </summary>
/// <remarks>
/// <para><b>Alignability score</b> = the best offset's cosine similarity (the peak of the segment's similarity curve
/// over the window). Why the peak and not a peakedness measure (the peak's margin over the window's mean, its z-score,
/// or a softmax-normalised peak): the contrastive loss the model is trained with pushes a caption's similarity to the
/// seconds it describes above its similarity to anything else, so a caption that describes some stretch of its window
/// reaches a high peak there, while speech unrelated to the video has no stretch to match and stays low everywhere.
/// Peakedness measures discard that level, and unrelated speech also has a ragged curve (the window's content changes
/// second by second), so its margin over the mean is not small. On the synthetic truth corpus (infra/bench/align.sh),
/// scoring the same trained models both ways, the ROC AUC of related vs unrelated segments was 0.95–0.96 for the peak
/// against 0.61 for the margin over the window mean and 0.38 for the z-score (src/VideoData.Training/README.md). The
/// known weakness of a raw cosine (a contrastive model is not calibrated across texts: some texts are closer to
/// everything) is the price. The threshold is in cosine units, in [−1, 1], whatever the model's width.</para>
/// <para><b>Invariants.</b> (1) The table is a pure function of the model's weights, the videos, the sampler's layout and
/// the options (no randomness; offsets are tried in the order 0, −1, +1, −2, … and a later one wins only when strictly
/// better, so ties keep the smallest move). (2) One row per caption segment of every video of the store, in store then
/// segment order. (3) Aligned times are the original times moved by the chosen whole number of seconds, clamped to the
/// video. (4) Every video keeps at least one segment (its best-scoring one) so it stays sampleable; a segment none of whose moved spans lies in the video scores −1 and stays where it was. (5) The model's
/// train/eval mode is restored afterwards.</para>
/// </remarks>
internal static class CaptionAligner
{
    /// <summary>
    /// Aligns every caption segment of every video in <paramref name="store"/> with <paramref name="model"/>.
    /// </summary>
    /// <param name="store">The videos with their original caption times.</param>
    /// <param name="model">The model whose towers score; runs in eval mode, on the device its weights are on.</param>
    /// <param name="sampler">The clip layout (caption length, video tokens, feature width) the model was trained with.</param>
    /// <param name="options">Window, threshold and batch sizes; validated here.</param>
    /// <param name="checkpoint">What the model is (a checkpoint folder or a description), for the lineage.</param>
    /// <param name="epoch">The epoch the table is made for, or null.</param>
    /// <param name="cancellationToken">Stops the alignment.</param>
    public static async Task<AlignmentTable> AlignAsync(
        IVideoStore store,
        VideoClipModel model,
        ClipSamplerOptions sampler,
        AlignmentOptions options,
        string checkpoint,
        int? epoch,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(checkpoint);
        options.Validate();
        sampler.Validate();
        if (store.FeatureDim != sampler.FeatureDim || model.Options.FeatureDim != sampler.FeatureDim)
        {
            throw new ArgumentException(
                $"The videos have {store.FeatureDim}-d features, the sampler option FeatureDim is {sampler.FeatureDim} and the model expects {model.Options.FeatureDim}-d; all three must agree.",
                nameof(sampler));
        }

        if (sampler.MaxVideoTokens > model.Options.MaxVideoTokens)
        {
            throw new ArgumentException($"The sampler lays out {sampler.MaxVideoTokens} video tokens; the model takes at most {model.Options.MaxVideoTokens}.", nameof(sampler));
        }

        var rows = new List<AlignedSegment>();
        var wasTraining = model.training;
        model.eval();
        try
        {
            foreach (var chunk in store.VideoIds.Chunk(options.VideosPerChunk))
            {
                var videos = new VideoRecord[chunk.Length];
                for (var i = 0; i < chunk.Length; i++)
                {
                    videos[i] = await store.GetAsync(chunk[i], cancellationToken).ConfigureAwait(false);
                    videos[i].EnsureSampleable(sampler.FeatureDim);
                }

                cancellationToken.ThrowIfCancellationRequested();
                rows.AddRange(AlignChunk(videos, model, sampler, options, cancellationToken));
            }
        }
        finally
        {
            if (wasTraining)
            {
                model.train();
            }
        }

        return new AlignmentTable(new AlignmentLineage(checkpoint, epoch, options.WindowSeconds, options.Threshold), rows);
    }

    /// <summary>The video span the model sees for a segment <c>[start, end)</c> moved by <paramref name="offset"/>, or null when it leaves the video.</summary>
    internal static (int Start, int End)? CandidateSpan(double start, double end, int offset, int seconds)
    {
        var first = (int)Math.Floor(start + offset);
        var last = (int)Math.Ceiling(end + offset);
        if (last <= first)
        {
            // A zero-length segment still names one second.
            last = first + 1;
        }

        first = Math.Max(first, 0);
        last = Math.Min(last, seconds);
        return first < last ? (first, last) : null;
    }

    /// <summary>
    /// Chooses each segment's offset and score from <paramref name="cosines"/>[segment][δ + W] (NaN where the moved span
    /// leaves the video) and marks what is kept. Pure; the heart of the alignment, tested directly.
    /// </summary>
    internal static AlignedSegment[] Decide(string videoId, IReadOnlyList<CaptionSegment> segments, int seconds, double[][] cosines, int window, double threshold)
    {
        var result = new AlignedSegment[segments.Count];
        for (var i = 0; i < segments.Count; i++)
        {
            var c = cosines[i];
            var bestOffset = 0;
            var best = double.NegativeInfinity;
            var count = 0;
            for (var k = 0; k <= 2 * window; k++)
            {
                // 0, −1, +1, −2, +2, …: a later offset must be strictly better, so ties keep the smaller move.
                var offset = (k + 1) / 2 * (k % 2 == 1 ? -1 : 1);
                var value = c[offset + window];
                if (double.IsNaN(value))
                {
                    continue;
                }

                count++;
                if (value > best)
                {
                    best = value;
                    bestOffset = offset;
                }
            }

            var segment = segments[i];
            // A segment with no span inside the video has nothing to match: the lowest cosine there is.
            var score = count == 0 ? -1 : best;
            var alignedStart = Math.Clamp(segment.Start + bestOffset, 0, seconds);
            var alignedEnd = Math.Clamp(segment.End + bestOffset, alignedStart, seconds);
            result[i] = new AlignedSegment(videoId, i, segment.Start, segment.End, alignedStart, alignedEnd, score, count > 0 && score >= threshold);
        }

        if (result.Length > 0 && !result.Any(r => r.Kept))
        {
            var top = 0;
            for (var i = 1; i < result.Length; i++)
            {
                if (result[i].Score > result[top].Score)
                {
                    top = i;
                }
            }

            result[top] = result[top] with { Kept = true };
        }

        return result;
    }

    private static List<AlignedSegment> AlignChunk(VideoRecord[] videos, VideoClipModel model, ClipSamplerOptions sampler, AlignmentOptions options, CancellationToken cancellationToken)
    {
        var window = options.WindowSeconds;
        var texts = new List<(int Video, int Segment)>();
        var spans = new List<(int Video, int Start, int End)>();
        var candidates = new List<int[]>();
        for (var v = 0; v < videos.Length; v++)
        {
            var video = videos[v];
            var known = new Dictionary<(int, int), int>();
            for (var s = 0; s < video.Segments.Count; s++)
            {
                texts.Add((v, s));
                var byOffset = new int[(2 * window) + 1];
                for (var offset = -window; offset <= window; offset++)
                {
                    var span = CandidateSpan(video.Segments[s].Start, video.Segments[s].End, offset, video.Seconds);
                    if (span is not { } found)
                    {
                        byOffset[offset + window] = -1;
                        continue;
                    }

                    if (!known.TryGetValue(found, out var index))
                    {
                        index = spans.Count;
                        spans.Add((v, found.Start, found.End));
                        known.Add(found, index);
                    }

                    byOffset[offset + window] = index;
                }

                candidates.Add(byOffset);
            }
        }

        var device = model.parameters().First().device;
        var (textVectors, hidden) = EncodeTexts(videos, texts, model, sampler, options, device, cancellationToken);
        var (spanVectors, _) = EncodeSpans(videos, spans, model, sampler, options, device, cancellationToken);

        var result = new List<AlignedSegment>(texts.Count);
        var row = 0;
        foreach (var video in videos)
        {
            var cosines = new double[video.Segments.Count][];
            for (var s = 0; s < cosines.Length; s++, row++)
            {
                var c = new double[(2 * window) + 1];
                var text = textVectors.AsSpan(row * hidden, hidden);
                for (var k = 0; k < c.Length; k++)
                {
                    var index = candidates[row][k];
                    c[k] = index < 0 ? double.NaN : Dot(text, spanVectors.AsSpan(index * hidden, hidden));
                }

                cosines[s] = c;
            }

            result.AddRange(Decide(video.VideoId, video.Segments, video.Seconds, cosines, window, options.Threshold));
        }

        return result;
    }

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return sum;
    }

    private static (float[] Vectors, int Hidden) EncodeTexts(
        VideoRecord[] videos, List<(int Video, int Segment)> texts, VideoClipModel model, ClipSamplerOptions sampler, AlignmentOptions options, Device device, CancellationToken cancellationToken)
    {
        var o = new OverlappedClipSampler(sampler);
        var length = sampler.CaptionLength;
        var hidden = model.Options.Hidden;
        var vectors = new float[texts.Count * hidden];
        for (var first = 0; first < texts.Count; first += options.BatchRows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var n = Math.Min(options.BatchRows, texts.Count - first);
            var caps = new long[n * length];
            var cmasks = new bool[n * length];
            for (var r = 0; r < n; r++)
            {
                var (v, s) = texts[first + r];
                o.WriteCaption(videos[v], new ClipSpan(0, 1, s, s + 1), caps.AsSpan(r * length, length), cmasks.AsSpan(r * length, length));
            }

            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            IntraOpThreads.Pin(options.Threads);
            var pooled = model.EncodeText(from_array(caps).view(n, length).to(device), from_array(cmasks).view(n, length).to(device));
            Normalized(pooled).CopyTo(vectors, first * hidden);
        }

        return (vectors, hidden);
    }

    private static (float[] Vectors, int Hidden) EncodeSpans(
        VideoRecord[] videos, List<(int Video, int Start, int End)> spans, VideoClipModel model, ClipSamplerOptions sampler, AlignmentOptions options, Device device, CancellationToken cancellationToken)
    {
        var o = new OverlappedClipSampler(sampler);
        var dim = sampler.FeatureDim;
        var hidden = model.Options.Hidden;
        var vectors = new float[spans.Count * hidden];
        // Short spans are batched with short ones: a batch is only as wide as its longest span. Each row carries its
        // positions, so the [SEP] sits where it sits in a full-width clip and the padding is masked out, as in training.
        var order = Enumerable.Range(0, spans.Count).OrderBy(i => Math.Min(sampler.MaxVideoTokens, spans[i].End - spans[i].Start)).ThenBy(i => i).ToArray();
        for (var first = 0; first < order.Length; first += options.BatchRows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var n = Math.Min(options.BatchRows, order.Length - first);
            var tokens = 1;
            for (var r = 0; r < n; r++)
            {
                var (_, start, end) = spans[order[first + r]];
                tokens = Math.Max(tokens, Math.Min(sampler.MaxVideoTokens, end - start));
            }

            var vfeats = new float[n * tokens * dim];
            var vmasks = new bool[n * tokens];
            var positions = new long[n * tokens];
            for (var r = 0; r < n; r++)
            {
                var (v, start, end) = spans[order[first + r]];
                var rows = Enumerable.Range(0, Math.Min(sampler.MaxVideoTokens, end - start)).ToArray();
                o.WriteVideo(videos[v], new ClipSpan(start, end, 0, 1), rows, tokens, vfeats.AsSpan(r * tokens * dim, tokens * dim), vmasks.AsSpan(r * tokens, tokens), positions.AsSpan(r * tokens, tokens));
            }

            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            IntraOpThreads.Pin(options.Threads);
            var pooled = model.EncodeVideo(
                from_array(vfeats).view(n, tokens, dim).to(device),
                from_array(vmasks).view(n, tokens).to(device),
                from_array(positions).view(n, tokens).to(device));
            var unit = Normalized(pooled);
            for (var r = 0; r < n; r++)
            {
                unit.AsSpan(r * hidden, hidden).CopyTo(vectors.AsSpan(order[first + r] * hidden, hidden));
            }
        }

        return (vectors, hidden);
    }

    private static float[] Normalized(Tensor pooled)
    {
        using var unit = nn.functional.normalize(pooled, p: 2, dim: 1);
        using var host = unit.cpu().contiguous();
        return host.data<float>().ToArray();
    }
}
