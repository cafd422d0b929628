using VideoData.Training.Retrieval;

namespace VideoData.Training.Tests.Retrieval;

/// <summary>Embedding sets for the retrieval tests and a brute-force reference search.</summary>
internal static class RetrievalTestData
{
    /// <summary>
    /// Vectors on a grid of multiples of 1/4 in [−2, 2]: every product and sum of the search is exact in
    /// float32, so the tiled search and the double-precision reference see identical distances, and the
    /// coarse grid makes many of them tie.
    /// </summary>
    public static VideoEmbeddings Grid(int count, int dimension, int seed, int levels = 17)
    {
        var random = new Random(seed);
        var vectors = new float[count * dimension];
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i] = (random.Next(levels) - (levels / 2)) / 4f;
        }

        return VideoEmbeddings.Create(Ids(count, random), vectors, dimension, new EmbeddingLineage("test"));
    }

    /// <summary>
    /// ±1 vectors of dimension 16: each normalizes exactly (norm 4), so cosine similarities are exact
    /// multiples of 1/16 and tie often.
    /// </summary>
    public static VideoEmbeddings Signs(int count, int seed)
    {
        const int dimension = 16;
        var random = new Random(seed);
        var vectors = new float[count * dimension];
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i] = random.Next(2) == 0 ? -1f : 1f;
        }

        return VideoEmbeddings.Create(Ids(count, random), vectors, dimension, new EmbeddingLineage("test"));
    }

    /// <summary>
    /// <paramref name="clusters"/> well-separated Gaussian blobs: the shape clustering should find.
    /// Returns the embeddings and each video's cluster.
    /// </summary>
    public static (VideoEmbeddings Embeddings, Dictionary<string, int> Cluster) Blobs(int count, int dimension, int clusters, int seed)
    {
        var random = new Random(seed);
        var centres = new float[clusters * dimension];
        for (var i = 0; i < centres.Length; i++)
        {
            centres[i] = (float)(Gaussian(random) * 3);
        }

        var ids = Ids(count, random);
        var vectors = new float[count * dimension];
        var cluster = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var v = 0; v < count; v++)
        {
            var c = random.Next(clusters);
            cluster[ids[v]] = c;
            for (var j = 0; j < dimension; j++)
            {
                vectors[(v * dimension) + j] = centres[(c * dimension) + j] + (float)Gaussian(random);
            }
        }

        return (VideoEmbeddings.Create(ids, vectors, dimension, new EmbeddingLineage("test")), cluster);
    }

    /// <summary>
    /// The k nearest other rows of <paramref name="query"/> by an exact double-precision evaluation of the
    /// metric (squared L2 or 1 − cosine), ties broken by the smaller row.
    /// </summary>
    public static int[] BruteForce(VideoEmbeddings embeddings, int query, int k, DistanceMetric metric)
    {
        var q = embeddings.Vector(query);
        var candidates = new List<(double Distance, int Row)>(embeddings.Count);
        for (var row = 0; row < embeddings.Count; row++)
        {
            if (row != query)
            {
                candidates.Add((Distance(q, embeddings.Vector(row), metric), row));
            }
        }

        candidates.Sort();
        return candidates.Take(k).Select(c => c.Row).ToArray();
    }

    public static double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b, DistanceMetric metric)
    {
        double dot = 0, aa = 0, bb = 0, l2 = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
            l2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        }

        return metric == DistanceMetric.L2 ? l2 : 1 - (dot / Math.Sqrt(aa * bb));
    }

    private static string[] Ids(int count, Random random)
    {
        // Shuffled input order, so the set's own id sort is exercised; zero-padded so ordinal order is numeric order.
        var ids = Enumerable.Range(0, count).Select(i => $"vid{i:D6}").ToArray();
        random.Shuffle(ids);
        return ids;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
