using VideoData.Training.Sampling;

namespace VideoData.Training.Data;

/// <summary>Shape of a synthetic corpus. Validated by <see cref="SyntheticCorpus.Generate"/>.</summary>
public sealed record SyntheticCorpusOptions
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
    }

    private static void Check(bool ok, string name, object value)
    {
        if (!ok)
        {
            throw new ArgumentException($"Synthetic corpus option {name} = {value} is out of range.", name);
        }
    }
}

/// <summary>
/// A corpus where each second's features are a fixed function of the caption tokens spoken during it
/// (the mean of fixed random word vectors, plus noise), so a model can learn to match text to video and
/// retrieval accuracy measures real learning. Deterministic in its options.
/// </summary>
public static class SyntheticCorpus
{
    /// <summary>Generates the videos described by <paramref name="options"/>.</summary>
    public static IReadOnlyList<VideoRecord> Generate(SyntheticCorpusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var words = WordVectors(options);
        var videos = new VideoRecord[options.Videos];
        Parallel.For(0, options.Videos, i => videos[i] = Video(options, words, $"{options.IdPrefix}{i:D6}"));
        return videos;
    }

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

    private static VideoRecord Video(SyntheticCorpusOptions options, float[][] words, string id)
    {
        var rng = DeterministicRandom.For(options.Seed, 0, "synthetic.video", id);
        var dim = options.FeatureDim;
        var seconds = rng.NextInt(options.MinSeconds, options.MaxSeconds);
        var topic = Enumerable.Range(0, options.VocabularySize).ToList();
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
