using VideoData.Shards;
using VideoData.Training.Sampling;

namespace VideoData.Training.Data;

/// <summary>Shape of a synthetic corpus. Validated by <see cref="SyntheticCorpus.Generate"/>.</summary>
internal sealed record SyntheticCorpusOptions
{
    /// <summary>Number of videos.</summary>
    public int Videos { get; init; } = 256;

    /// <summary>Width of the feature rows.</summary>
    public int FeatureDim { get; init; } = 512;

    /// <summary>Shortest video in seconds.</summary>
    public int MinSeconds { get; init; } = 20;

    /// <summary>Longest video in seconds.</summary>
    public int MaxSeconds { get; init; } = 90;

    /// <summary>First WordPiece id of the synthetic vocabulary (ids below 1000 are special or unused in BERT's).</summary>
    public int VocabularyStart { get; init; } = 2000;

    /// <summary>Number of distinct word ids the corpus uses.</summary>
    public int VocabularySize { get; init; } = 400;

    /// <summary>Words each video draws its captions from (its "topic").</summary>
    public int WordsPerVideo { get; init; } = 8;

    /// <summary>Standard deviation of the Gaussian noise added to every feature value.</summary>
    public double Noise { get; init; } = 0.05;

    /// <summary>Seed of everything random in the corpus.</summary>
    public long Seed { get; init; }

    /// <summary>Video ids are this prefix and a zero-padded index.</summary>
    public string IdPrefix { get; init; } = "syn";

    /// <summary>
    /// Fraction of caption segments whose times are moved away from the seconds they describe (the video keeps
    /// the true times; only the caption's stated times move), as ASR that narrates before or after the action.
    /// 0 (the default) leaves every segment in place.
    /// </summary>
    public double ShiftFraction { get; init; }

    /// <summary>Smallest shift, seconds (2).</summary>
    public double MinShiftSeconds { get; init; } = 2;

    /// <summary>Largest shift, seconds (6). Each shifted segment moves by a uniform amount in [min, max], earlier or later by a fair coin.</summary>
    public double MaxShiftSeconds { get; init; } = 6;

    /// <summary>
    /// Fraction of caption segments whose text is replaced by words from outside the video's topic (speech unrelated
    /// to what is shown); the video's features still describe the original words. Drawn from the segments not shifted.
    /// </summary>
    public double UnrelatedFraction { get; init; }

    internal void Validate()
    {
        Check(Videos >= 1, nameof(Videos), Videos);
        Check(FeatureDim >= 1, nameof(FeatureDim), FeatureDim);
        Check(MinSeconds >= 1, nameof(MinSeconds), MinSeconds);
        Check(MaxSeconds >= MinSeconds, nameof(MaxSeconds), MaxSeconds);
        Check(VocabularyStart >= 1000, nameof(VocabularyStart), VocabularyStart);
        Check(VocabularySize >= WordsPerVideo, nameof(VocabularySize), VocabularySize);
        Check(WordsPerVideo >= 1, nameof(WordsPerVideo), WordsPerVideo);
        Check(Noise >= 0 && double.IsFinite(Noise), nameof(Noise), Noise);
        Check(!string.IsNullOrEmpty(IdPrefix), nameof(IdPrefix), IdPrefix);
        Check(ShiftFraction is >= 0 and <= 1, nameof(ShiftFraction), ShiftFraction);
        Check(UnrelatedFraction is >= 0 and <= 1 && ShiftFraction + UnrelatedFraction <= 1, nameof(UnrelatedFraction), UnrelatedFraction);
        Check(MinShiftSeconds > 0 && double.IsFinite(MinShiftSeconds), nameof(MinShiftSeconds), MinShiftSeconds);
        Check(MaxShiftSeconds >= MinShiftSeconds && double.IsFinite(MaxShiftSeconds), nameof(MaxShiftSeconds), MaxShiftSeconds);
        Check(UnrelatedFraction == 0 || VocabularySize > WordsPerVideo, nameof(UnrelatedFraction), $"{UnrelatedFraction} (needs words outside a topic: VocabularySize > WordsPerVideo)");
    }

    private static void Check(bool ok, string name, object value)
    {
        if (!ok)
        {
            throw new ArgumentException($"Synthetic corpus option {name} = {value} is out of range.", name);
        }
    }
}

/// <summary>What the synthetic corpus did to one caption segment.</summary>
internal enum SyntheticSegmentKind
{
    /// <summary>Times and text as the video shows them.</summary>
    Aligned,

    /// <summary>The text describes the video, but its times were moved by <see cref="SyntheticSegmentTruth.OffsetSeconds"/>.</summary>
    Shifted,

    /// <summary>The text was replaced by words the video does not show.</summary>
    Unrelated,
}

/// <summary>The truth about one caption segment of a synthetic corpus.</summary>
/// <param name="VideoId">The video.</param>
/// <param name="Segment">The segment's index in the video's caption list.</param>
/// <param name="Kind">What was done to it.</param>
/// <param name="OffsetSeconds">
/// Stated time minus true time for a shifted segment (so moving it by −offset puts it back); 0 otherwise.
/// </param>
internal sealed record SyntheticSegmentTruth(string VideoId, int Segment, SyntheticSegmentKind Kind, double OffsetSeconds);

/// <summary>A synthetic corpus together with the truth about each of its caption segments.</summary>
/// <param name="Videos">The videos, as training sees them (shifted times, unrelated texts).</param>
/// <param name="Truth">One entry per caption segment of every video, in video then segment order.</param>
internal sealed record SyntheticCorpusWithTruth(IReadOnlyList<VideoRecord> Videos, IReadOnlyList<SyntheticSegmentTruth> Truth);

/// <summary>
/// A corpus where each second's features are a fixed function of the caption tokens spoken during it
/// (the mean of fixed random word vectors, plus noise), so a model can learn to match text to video and
/// retrieval accuracy measures real learning. Deterministic in its options.
/// </summary>
internal static class SyntheticCorpus
{
    /// <summary>Generates the videos described by <paramref name="options"/>.</summary>
    public static IReadOnlyList<VideoRecord> Generate(SyntheticCorpusOptions options) => GenerateWithTruth(options).Videos;

    /// <summary>
    /// Generates the videos described by <paramref name="options"/> and says which segments were shifted (by how
    /// much) or made unrelated. The features are always computed from the true times and words first; the caption
    /// noise is drawn afterwards from its own generator, so the corpus with no noise is the one
    /// <see cref="Generate"/> has always produced, and the noisy one differs from it only in the captions.
    /// </summary>
    public static SyntheticCorpusWithTruth GenerateWithTruth(SyntheticCorpusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var words = WordVectors(options);
        var videos = new VideoRecord[options.Videos];
        var truths = new SyntheticSegmentTruth[options.Videos][];
        Parallel.For(0, options.Videos, i =>
        {
            var clean = Video(options, words, $"{options.IdPrefix}{i:D6}", out var topic);
            (videos[i], truths[i]) = AddCaptionNoise(options, clean, topic);
        });
        return new SyntheticCorpusWithTruth(videos, truths.SelectMany(t => t).ToList());
    }

    private static (VideoRecord Video, SyntheticSegmentTruth[] Truth) AddCaptionNoise(SyntheticCorpusOptions options, VideoRecord clean, List<int> topic)
    {
        var truth = new SyntheticSegmentTruth[clean.Segments.Count];
        if (options.ShiftFraction == 0 && options.UnrelatedFraction == 0)
        {
            for (var i = 0; i < truth.Length; i++)
            {
                truth[i] = new SyntheticSegmentTruth(clean.VideoId, i, SyntheticSegmentKind.Aligned, 0);
            }

            return (clean, truth);
        }

        var rng = DeterministicRandom.For(options.Seed, 0, "synthetic.caption-noise", clean.VideoId);
        var outside = Enumerable.Range(0, options.VocabularySize).Except(topic).ToList();
        var seconds = clean.Seconds;
        var segments = new CaptionSegment[clean.Segments.Count];
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = clean.Segments[i];
            var draw = rng.NextDouble();
            var magnitude = options.MinShiftSeconds + (rng.NextDouble() * (options.MaxShiftSeconds - options.MinShiftSeconds));
            var later = rng.NextBool();
            if (draw < options.ShiftFraction)
            {
                // A shift that would push the segment off the video goes the other way; one that fits neither way is not made.
                var offset = Math.Round(later ? magnitude : -magnitude, 2);
                if (!Fits(segment, offset, seconds))
                {
                    offset = -offset;
                }

                if (Fits(segment, offset, seconds))
                {
                    segments[i] = segment with { Start = Math.Round(segment.Start + offset, 2), End = Math.Round(segment.End + offset, 2) };
                    truth[i] = new SyntheticSegmentTruth(clean.VideoId, i, SyntheticSegmentKind.Shifted, offset);
                    continue;
                }
            }
            else if (draw < options.ShiftFraction + options.UnrelatedFraction)
            {
                var tokens = new int[segment.TokenIds.Length];
                for (var k = 0; k < tokens.Length; k++)
                {
                    tokens[k] = options.VocabularyStart + outside[rng.NextInt(0, outside.Count - 1)];
                }

                segments[i] = segment with { TokenIds = tokens };
                truth[i] = new SyntheticSegmentTruth(clean.VideoId, i, SyntheticSegmentKind.Unrelated, 0);
                continue;
            }

            segments[i] = segment;
            truth[i] = new SyntheticSegmentTruth(clean.VideoId, i, SyntheticSegmentKind.Aligned, 0);
        }

        return (clean with { Segments = segments }, truth);
    }

    private static bool Fits(CaptionSegment segment, double offset, int seconds) =>
        segment.Start + offset >= 0 && segment.End + offset <= seconds;

    private static float[][] WordVectors(SyntheticCorpusOptions options)
    {
        var vectors = new float[options.VocabularySize][];
        for (var w = 0; w < vectors.Length; w++)
        {
            var rng = DeterministicRandom.For(options.Seed, 0, "synthetic.word", (options.VocabularyStart + w).ToString(System.Globalization.CultureInfo.InvariantCulture));
            var v = new float[options.FeatureDim];
            for (var d = 0; d < v.Length; d++)
            {
                v[d] = (float)Gaussian(rng);
            }

            vectors[w] = v;
        }

        return vectors;
    }

    private static VideoRecord Video(SyntheticCorpusOptions options, float[][] words, string id, out List<int> topic)
    {
        var rng = DeterministicRandom.For(options.Seed, 0, "synthetic.video", id);
        var dim = options.FeatureDim;
        var seconds = rng.NextInt(options.MinSeconds, options.MaxSeconds);
        topic = Enumerable.Range(0, options.VocabularySize).ToList();
        rng.Shuffle(topic);
        topic = topic.GetRange(0, options.WordsPerVideo);

        var segments = new List<CaptionSegment>();
        var t = rng.NextDouble() * 2;
        while (t < seconds - 1)
        {
            var length = 1.5 + (rng.NextDouble() * 4.5);
            var count = rng.NextInt(2, 10);
            var tokens = new int[count];
            for (var k = 0; k < count; k++)
            {
                tokens[k] = options.VocabularyStart + topic[rng.NextInt(0, topic.Count - 1)];
            }

            segments.Add(new CaptionSegment(Math.Round(t, 2), Math.Round(Math.Min(t + length, seconds), 2), tokens));
            t += length + (rng.NextDouble() * 1.0);
        }

        var features = new float[seconds * dim];
        var row = new float[dim];
        for (var s = 0; s < seconds; s++)
        {
            Array.Clear(row);
            var n = 0;
            foreach (var segment in segments)
            {
                if (segment.Start < s + 1 && segment.End > s)
                {
                    foreach (var token in segment.TokenIds)
                    {
                        Add(row, words[token - options.VocabularyStart]);
                        n++;
                    }
                }
            }

            if (n == 0)
            {
                // Silence: the video's topic as a whole.
                foreach (var w in topic)
                {
                    Add(row, words[w]);
                    n++;
                }
            }

            var scale = 1f / MathF.Sqrt(n);
            for (var d = 0; d < dim; d++)
            {
                features[(s * dim) + d] = (row[d] * scale) + (float)(Gaussian(rng) * options.Noise);
            }
        }

        return new VideoRecord(id, dim, features, segments);
    }

    private static void Add(float[] into, float[] vector)
    {
        for (var d = 0; d < into.Length; d++)
        {
            into[d] += vector[d];
        }
    }

    private static double Gaussian(DeterministicRandom rng)
    {
        // Box–Muller; 1 − u keeps the logarithm finite.
        var u = 1.0 - rng.NextDouble();
        var v = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
    }
}
