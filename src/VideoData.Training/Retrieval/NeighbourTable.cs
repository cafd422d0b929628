namespace VideoData.Training.Retrieval;

/// <summary>
/// The result of a search: for each query row, its <see cref="K"/> nearest other rows in increasing
/// distance, ties broken by the smaller row index (= the ordinally smaller video id).
/// </summary>
internal sealed class NeighbourTable
{
    private readonly int[] _queries;
    private readonly int[] _neighbours;
    private readonly float[] _distances;

    internal NeighbourTable(int[] queries, int k, int[] neighbours, float[] distances, DistanceMetric metric)
    {
        _queries = queries;
        K = k;
        _neighbours = neighbours;
        _distances = distances;
        Metric = metric;
    }

    /// <summary>The number of queries.</summary>
    public int QueryCount => _queries.Length;

    /// <summary>Neighbours per query.</summary>
    public int K { get; }

    /// <summary>The metric the distances are in.</summary>
    public DistanceMetric Metric { get; }

    /// <summary>The row (in the searched <see cref="VideoEmbeddings"/>) of each query, in the order given.</summary>
    public IReadOnlyList<int> QueryRows => _queries;

    /// <summary>The rows of query <paramref name="query"/>'s neighbours, nearest first; never the query's own row.</summary>
    public ReadOnlySpan<int> Neighbours(int query) => _neighbours.AsSpan(query * K, K);

    /// <summary>
    /// The distances to those neighbours: squared L2 (clamped at 0 against rounding) or 1 − cosine. They
    /// are computed as ‖q‖² + ‖x‖² − 2q·x in float32, so they can differ from a direct evaluation by rounding.
    /// </summary>
    public ReadOnlySpan<float> Distances(int query) => _distances.AsSpan(query * K, K);
}
