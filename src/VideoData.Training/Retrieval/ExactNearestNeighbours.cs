using TorchSharp;
using static TorchSharp.torch;

namespace VideoData.Training.Retrieval;

/// <summary>
/// Exact k-nearest-neighbour search over a <see cref="VideoEmbeddings"/> set with TorchSharp: the
/// distances of every query to every vector are computed as tiled matrix products
/// (‖x‖² − 2q·x for L2, −q̂·x̂ for cosine; ‖q‖² does not change a query's ranking) and folded into a
/// running top-k per query, so memory is bounded by <see cref="NearestNeighbourOptions.MemoryBudgetBytes"/>
/// whatever the corpus size. Unlike the reference's IVF index nothing is approximated: the result is
/// the true k nearest of the computed distances, ties broken by the smaller row index (video id).
/// </summary>
internal static class ExactNearestNeighbours
{
    /// <summary>
    /// Finds, for each row in <paramref name="queryRows"/>, its <see cref="NearestNeighbourOptions.K"/>
    /// nearest other rows of <paramref name="embeddings"/> (the query's own row is never a neighbour;
    /// a duplicate vector under another id is).
    /// </summary>
    /// <param name="embeddings">The database; the queries are rows of it.</param>
    /// <param name="queryRows">Row indices of the queries, each in [0, Count); may repeat.</param>
    /// <param name="options">K, metric, device, memory budget; validated here.</param>
    /// <param name="cancellationToken">Checked between tiles.</param>
    /// <exception cref="ArgumentException">An option is invalid, K ≥ Count, a query row is out of range, or (cosine) a vector is zero.</exception>
    /// <exception cref="NotSupportedException">CUDA was asked for and is not available.</exception>
    public static NeighbourTable Search(
        VideoEmbeddings embeddings,
        IReadOnlyList<int> queryRows,
        NearestNeighbourOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(queryRows);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.K >= embeddings.Count)
        {
            throw new ArgumentException(
                $"K = {options.K} neighbours need at least {options.K + 1} videos (a query is not its own neighbour); the embeddings hold {embeddings.Count}.",
                nameof(options));
        }

        if (queryRows.Count == 0)
        {
            throw new ArgumentException("No query rows were given.", nameof(queryRows));
        }

        var queries = queryRows.ToArray();
        foreach (var row in queries)
        {
            if ((uint)row >= (uint)embeddings.Count)
            {
                throw new ArgumentException($"Query row {row} is outside the {embeddings.Count} rows of the embeddings.", nameof(queryRows));
            }
        }

        if (options.Metric == DistanceMetric.Cosine)
        {
            RequireNonZero(embeddings);
        }

        var device = options.ParseDevice();
        var strategy = options.Strategy ?? (device.type == DeviceType.CPU ? TopKStrategy.HostHeaps : TopKStrategy.DeviceSort);
        if (options.Threads is { } threads)
        {
            torch.set_num_threads(threads);
        }

        var workers = strategy == TopKStrategy.HostHeaps ? torch.get_num_threads() : 1;
        var plan = TilePlan.Choose(options, strategy, embeddings.Count, queries.Length, embeddings.Dimension, workers);

        if (device.type == DeviceType.CUDA)
        {
            // Exact search means full float32 products; TF32 would round the inputs to 10 mantissa bits.
            torch.backends.cuda.matmul.allow_tf32 = false;
        }

        var search = new TiledSearch(embeddings, queries, options, device, strategy, plan, workers);
        return search.Run(cancellationToken);
    }

    private static void RequireNonZero(VideoEmbeddings embeddings)
    {
        for (var i = 0; i < embeddings.Count; i++)
        {
            if (!embeddings.Vector(i).ContainsAnyExcept(0f))
            {
                throw new ArgumentException(
                    $"The vector of video '{embeddings.VideoIds[i]}' is all zeros, which has no cosine distance; use the l2 metric or drop the video.",
                    nameof(embeddings));
            }
        }
    }
}

/// <summary>One search: walks the database tile by tile and feeds each distance tile to a top-k selector.</summary>
internal sealed class TiledSearch
{
    private readonly VideoEmbeddings _embeddings;
    private readonly int[] _queries;
    private readonly NearestNeighbourOptions _options;
    private readonly Device _device;
    private readonly TopKStrategy _strategy;
    private readonly TilePlan _plan;
    private readonly int _workers;

    internal TiledSearch(VideoEmbeddings embeddings, int[] queries, NearestNeighbourOptions options, Device device, TopKStrategy strategy, TilePlan plan, int workers)
    {
        _workers = workers;
        _embeddings = embeddings;
        _queries = queries;
        _options = options;
        _device = device;
        _strategy = strategy;
        _plan = plan;
    }

    internal NeighbourTable Run(CancellationToken cancellationToken)
    {
        var d = _embeddings.Dimension;
        var n = _embeddings.Count;
        var k = _options.K;
        var cosine = _options.Metric == DistanceMetric.Cosine;
        var alpha = cosine ? -1f : -2f;
        using var scope = torch.NewDisposeScope();

        var queryData = new float[_queries.Length * d];
        for (var i = 0; i < _queries.Length; i++)
        {
            _embeddings.Vector(_queries[i]).CopyTo(queryData.AsSpan(i * d, d));
        }

        var queries = torch.tensor(queryData, [_queries.Length, d]).to(_device);
        if (cosine)
        {
            queries = Normalize(queries);
        }

        // ‖q‖² is the same for every candidate of a query, so the ranking leaves it out; it is added back to report distances.
        var queryNorms = cosine ? null : queries.mul(queries).sum(1).cpu().data<float>().ToArray();

        ITopKSelector selector = _strategy == TopKStrategy.HostHeaps
            ? new HostTopK(_queries, k, _plan)
            : new DeviceTopK(_queries, k, _device);
        var queryTiles = (_queries.Length + _plan.QueryRows - 1) / _plan.QueryRows;
        var workers = selector.ConcurrentQueryTiles ? _workers : 1;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken };
        for (var start = 0; start < n; start += _plan.DatabaseRows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rows = Math.Min(_plan.DatabaseRows, n - start);
            using var block = torch.NewDisposeScope();

            // On the CPU the tile is a view of the embeddings' own array: no copy.
            var database = torch.frombuffer(_embeddings.VectorArray, ScalarType.Float32, (long)rows * d, (long)start * d).view(rows, d);
            if (_device.type != DeviceType.CPU)
            {
                database = database.to(_device);
            }

            if (cosine)
            {
                database = Normalize(database);
            }

            var bias = cosine ? torch.zeros(rows, device: _device) : database.mul(database).sum(1);
            var transposed = database.t();
            selector.BeginDatabaseTile(bias);
            var tileStart = start;
            Parallel.For(0, queryTiles, parallel, t =>
            {
                var q = t * _plan.QueryRows;
                var queryRows = Math.Min(_plan.QueryRows, _queries.Length - q);
                using var tile = torch.NewDisposeScope();
                // Each worker multiplies its own query tile on one libtorch thread and scans it at once. Sharing
                // libtorch's pool instead leaves its OpenMP threads spinning after every product, competing with
                // the scan for the same cores (measured: up to 2.5x slower on 2 cores). libtorch's thread count
                // (OpenMP and MKL) is per calling thread, so it is set, and restored, on the worker itself.
                var threads = workers > 1 ? torch.get_num_threads() : 0;
                if (workers > 1)
                {
                    torch.set_num_threads(1);
                }

                try
                {
                    selector.Accept(queries.narrow(0, q, queryRows), transposed, bias, alpha, q, tileStart, cancellationToken);
                }
                finally
                {
                    if (workers > 1)
                    {
                        torch.set_num_threads(threads);
                    }
                }
            });
        }

        var (neighbours, values) = selector.Finish();
        var distances = new float[values.Length];
        for (var i = 0; i < _queries.Length; i++)
        {
            for (var j = 0; j < k; j++)
            {
                var v = values[(i * k) + j];
                distances[(i * k) + j] = cosine ? 1f + v : Math.Max(0f, v + queryNorms![i]);
            }
        }

        return new NeighbourTable(_queries, k, neighbours, distances, _options.Metric);
    }

    private static Tensor Normalize(Tensor rows) => rows.div(rows.norm(1, keepdim: true));
}

/// <summary>Folds distance tiles into a running top-k per query.</summary>
internal interface ITopKSelector
{
    /// <summary>Whether the query tiles of one database tile may be passed to <see cref="Accept"/> from several threads at once.</summary>
    bool ConcurrentQueryTiles { get; }

    /// <summary>Called once per database tile, before its query tiles, with the tile's bias (‖x‖² or 0 per row).</summary>
    void BeginDatabaseTile(Tensor bias);

    /// <summary>
    /// Scores queries [<paramref name="queryStart"/>, +queries.shape[0]) against database rows
    /// [<paramref name="databaseStart"/>, +transposed.shape[1]) as bias + alpha·(queries × transposed) and
    /// keeps the k smallest per query by (score, row). Tiles arrive in increasing <paramref name="databaseStart"/>.
    /// </summary>
    void Accept(Tensor queries, Tensor transposed, Tensor bias, float alpha, int queryStart, int databaseStart, CancellationToken cancellationToken);

    /// <summary>The neighbours (rows) and scores, per query, sorted by (score, row).</summary>
    (int[] Neighbours, float[] Scores) Finish();
}
