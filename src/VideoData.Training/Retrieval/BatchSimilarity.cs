namespace VideoData.Training.Retrieval;

/// <summary>How alike the videos of a batch are: the measure behind "hard negatives".</summary>
public static class BatchSimilarity
{
    /// <summary>
    /// The mean cosine similarity over all unordered pairs of <paramref name="videoIds"/>, computed in
    /// double precision; NaN for fewer than two videos.
    /// </summary>
    /// <exception cref="ArgumentException">An id is not in <paramref name="embeddings"/>; the message names it.</exception>
    public static double MeanPairwiseCosine(VideoEmbeddings embeddings, IReadOnlyList<string> videoIds)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(videoIds);
        var rows = new int[videoIds.Count];
        var norms = new double[videoIds.Count];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = embeddings.IndexOf(videoIds[i]);
            if (rows[i] < 0)
            {
                throw new ArgumentException($"Video '{videoIds[i]}' has no embedding.", nameof(videoIds));
            }

            norms[i] = Math.Sqrt(Dot(embeddings.Vector(rows[i]), embeddings.Vector(rows[i])));
        }

        if (rows.Length < 2)
        {
            return double.NaN;
        }

        var sum = 0.0;
        var pairs = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            for (var j = i + 1; j < rows.Length; j++)
            {
                var denominator = norms[i] * norms[j];
                sum += denominator == 0 ? 0 : Dot(embeddings.Vector(rows[i]), embeddings.Vector(rows[j])) / denominator;
                pairs++;
            }
        }

        return sum / pairs;
    }

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return sum;
    }
}
