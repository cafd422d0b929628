namespace VideoData.Training.Retrieval;

/// <summary>
/// The tile shape of one search: queries and database vectors per distance tile, chosen to fit the
/// memory budget. The database is read once, one tile of rows at a time; all queries stay resident.
/// </summary>
/// <param name="QueryRows">Queries per distance tile.</param>
/// <param name="DatabaseRows">Database vectors per distance tile.</param>
/// <param name="Bytes">The working set the plan needs, as counted by <see cref="BytesFor"/>.</param>
internal sealed record TilePlan(int QueryRows, int DatabaseRows, long Bytes)
{
    // On the CPU each worker multiplies one query tile by the database tile and scans the result at once, so
    // the distance tile (1 MiB) stays in the worker's L2 cache; enough query tiles (N/32/256) keep the workers
    // balanced, and 1,024 × 768 database rows (3 MiB) are shared through L3. Measured: infra/bench/cluster.sh.
    internal const int HostQueryRows = 256;
    internal const int HostDatabaseRows = 1024;

    // On a GPU larger tiles amortize kernel launches; the sort works on QueryRows × (K + DatabaseRows).
    internal const int DeviceQueryRows = 4096;
    internal const int DeviceDatabaseRows = 32_768;

    /// <summary>The bytes a search with these tile sizes holds beyond the embeddings.</summary>
    internal static long BytesFor(TopKStrategy strategy, int queries, int dimension, int k, int queryRows, int databaseRows, int workers = 1)
    {
        var fixedBytes = FixedBytes(strategy, queries, dimension, k);
        // Host workers each fill and scan a distance tile of their own.
        long tile = (long)queryRows * databaseRows * sizeof(float) * (strategy == TopKStrategy.HostHeaps ? workers : 1);
        long block = 2L * databaseRows * dimension * sizeof(float) + (databaseRows * (long)sizeof(float));
        long selection = strategy == TopKStrategy.DeviceSort
            // cat(values, indices), the sorted copy and the permutation, the gathered result: 4 + 8 + 4 + 8 bytes per candidate.
            ? (long)queryRows * (k + databaseRows) * 24
            : 0;
        return fixedBytes + tile + block + selection;
    }

    /// <summary>The queries on the device and the running top-k of every query: needed whatever the tiles.</summary>
    internal static long FixedBytes(TopKStrategy strategy, int queries, int dimension, int k) =>
        ((long)queries * dimension * sizeof(float)) + ((long)queries * k * (strategy == TopKStrategy.DeviceSort ? 12 : 8));

    /// <summary>
    /// The plan for <paramref name="queries"/> queries against <paramref name="count"/> vectors: the preferred
    /// tile for the strategy, shrunk (database rows first, then query rows) until it fits the budget.
    /// Explicit tile sizes in <paramref name="options"/> are used as given and must fit.
    /// </summary>
    /// <exception cref="ArgumentException">The budget cannot hold even the smallest tile; the message names the option and the need.</exception>
    internal static TilePlan Choose(NearestNeighbourOptions options, TopKStrategy strategy, int count, int queries, int dimension, int workers = 1)
    {
        var k = options.K;
        var budget = options.MemoryBudgetBytes;
        var fixedBytes = FixedBytes(strategy, queries, dimension, k);
        var minimum = BytesFor(strategy, queries, dimension, k, 1, Math.Min(count, 64), workers);
        if (minimum > budget)
        {
            throw new ArgumentException(
                $"MemoryBudgetBytes (--memory-budget) is {Describe(budget)}, but {queries} queries of dimension {dimension} with their running top-{k} "
                + $"need {Describe(fixedBytes)} before any tile, and the smallest tile {Describe(minimum - fixedBytes)} more; raise the budget to at least {Describe(minimum)}.",
                nameof(options));
        }

        var device = strategy == TopKStrategy.DeviceSort;
        var queryRows = Math.Min(queries, options.QueryTileRows ?? (device ? DeviceQueryRows : HostQueryRows));
        var databaseRows = Math.Min(count, options.DatabaseTileRows ?? (device ? DeviceDatabaseRows : HostDatabaseRows));
        if (options.QueryTileRows is not null || options.DatabaseTileRows is not null)
        {
            var bytes = BytesFor(strategy, queries, dimension, k, queryRows, databaseRows, workers);
            if (bytes > budget)
            {
                throw new ArgumentException(
                    $"QueryTileRows {queryRows} × DatabaseTileRows {databaseRows} need {Describe(bytes)}, more than MemoryBudgetBytes {Describe(budget)}.",
                    nameof(options));
            }
        }

        while (BytesFor(strategy, queries, dimension, k, queryRows, databaseRows, workers) > budget)
        {
            if (databaseRows > 64 && options.DatabaseTileRows is null)
            {
                databaseRows = Math.Max(64, databaseRows / 2);
            }
            else if (queryRows > 1 && options.QueryTileRows is null)
            {
                queryRows = Math.Max(1, queryRows / 2);
            }
            else
            {
                break;
            }
        }

        return new TilePlan(queryRows, databaseRows, BytesFor(strategy, queries, dimension, k, queryRows, databaseRows, workers));
    }

    internal static string Describe(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):0.##} KiB",
        _ => $"{bytes} B",
    };
}
