using VideoData.Training.Retrieval;

namespace VideoData.Training.Tests.Retrieval;

public sealed class ExactNearestNeighboursTests
{
    public static TheoryData<int, int, string> TileShapes => new()
    {
        // (query rows, database rows, strategy): 97 and 60 do not divide N = 300 or the 40 queries; 100 and 20 do; 300 is one tile.
        { 20, 100, nameof(TopKStrategy.HostHeaps) },
        { 7, 97, nameof(TopKStrategy.HostHeaps) },
        { 40, 300, nameof(TopKStrategy.HostHeaps) },
        { 1, 64, nameof(TopKStrategy.HostHeaps) },
        { 20, 100, nameof(TopKStrategy.DeviceSort) },
        { 13, 60, nameof(TopKStrategy.DeviceSort) },
        { 40, 300, nameof(TopKStrategy.DeviceSort) },
    };

    [Theory]
    [MemberData(nameof(TileShapes))]
    public void Search_L2OnGridData_EqualsBruteForceWithTiesById(int queryTile, int databaseTile, string strategy)
    {
        var embeddings = RetrievalTestData.Grid(300, 24, seed: 1, levels: 3);
        var queries = Enumerable.Range(0, 40).Select(i => (i * 7) + 3).ToArray();
        var options = Options(10, DistanceMetric.L2, queryTile, databaseTile, strategy);

        var table = ExactNearestNeighbours.Search(embeddings, queries, options);

        AssertBruteForce(embeddings, queries, table, DistanceMetric.L2);
        // Values in {−0.25, 0, 0.25} make many equal distances: the test is only meaningful if ties reach the k-th place.
        Assert.True(CountBoundaryTies(embeddings, queries, 10, DistanceMetric.L2) > 5, "the data should put ties at the k-th neighbour");
    }

    [Theory]
    [MemberData(nameof(TileShapes))]
    public void Search_CosineOnSignVectors_EqualsBruteForceWithTiesById(int queryTile, int databaseTile, string strategy)
    {
        var embeddings = RetrievalTestData.Signs(300, seed: 2);
        var queries = Enumerable.Range(0, 40).Select(i => 299 - (i * 5)).ToArray();
        var options = Options(12, DistanceMetric.Cosine, queryTile, databaseTile, strategy);

        var table = ExactNearestNeighbours.Search(embeddings, queries, options);

        AssertBruteForce(embeddings, queries, table, DistanceMetric.Cosine);
        Assert.True(CountBoundaryTies(embeddings, queries, 12, DistanceMetric.Cosine) > 5, "the data should put ties at the k-th neighbour");
    }

    [Fact]
    public void Search_DefaultTilesOnContinuousData_MatchesBruteForceAndReportsDistances()
    {
        // 1,500 vectors, 2 database tiles of the default 1,024 rows (the second partial), one query tile.
        var embeddings = RetrievalTestData.Blobs(1500, 32, clusters: 6, seed: 3).Embeddings;
        var queries = Enumerable.Range(0, 50).Select(i => i * 29).ToArray();

        var table = ExactNearestNeighbours.Search(embeddings, queries, new NearestNeighbourOptions { K = 16 });

        for (var q = 0; q < queries.Length; q++)
        {
            var expected = RetrievalTestData.BruteForce(embeddings, queries[q], 16, DistanceMetric.L2);
            Assert.Equal(expected, table.Neighbours(q).ToArray());
            for (var j = 0; j < 16; j++)
            {
                var exact = RetrievalTestData.Distance(embeddings.Vector(queries[q]), embeddings.Vector(expected[j]), DistanceMetric.L2);
                Assert.Equal(exact, table.Distances(q)[j], 1e-3 * Math.Max(1, exact));
            }
        }
    }

    [Fact]
    public void Search_DuplicateVectors_KeepsTheOtherCopyButNeverTheQuery()
    {
        var vectors = new float[] { 0, 0, 1, 1, 0, 0, 5, 5, 0, 0 };
        var embeddings = VideoEmbeddings.Create(["a", "b", "c", "d", "e"], vectors, 2, new EmbeddingLineage("test"));

        var table = ExactNearestNeighbours.Search(embeddings, [0, 4], new NearestNeighbourOptions { K = 3 });

        // a = c = e = (0,0): a's nearest are c and e (distance 0, by id), then b.
        Assert.Equal([2, 4, 1], table.Neighbours(0).ToArray());
        Assert.Equal([0, 2, 1], table.Neighbours(1).ToArray());
        Assert.Equal([0f, 0f, 2f], table.Distances(0).ToArray());
    }

    [Fact]
    public void Search_StrategiesAgree_OnContinuousData()
    {
        var embeddings = RetrievalTestData.Blobs(700, 48, clusters: 4, seed: 5).Embeddings;
        var queries = Enumerable.Range(0, 70).Select(i => i * 10).ToArray();

        var host = ExactNearestNeighbours.Search(embeddings, queries, Options(20, DistanceMetric.L2, 33, 129, nameof(TopKStrategy.HostHeaps)));
        var device = ExactNearestNeighbours.Search(embeddings, queries, Options(20, DistanceMetric.L2, 70, 700, nameof(TopKStrategy.DeviceSort)));

        for (var q = 0; q < queries.Length; q++)
        {
            Assert.Equal(host.Neighbours(q).ToArray(), device.Neighbours(q).ToArray());
        }
    }

    [Fact]
    public void Search_KNotBelowCount_ThrowsNamingTheSizes()
    {
        var embeddings = RetrievalTestData.Grid(10, 4, seed: 1);
        var ex = Assert.Throws<ArgumentException>(() => ExactNearestNeighbours.Search(embeddings, [0], new NearestNeighbourOptions { K = 10 }));
        Assert.Contains("K = 10", ex.Message, StringComparison.Ordinal);
        Assert.Contains("hold 10", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Search_BadOptionsAndRows_ThrowNamingTheProblem()
    {
        var embeddings = RetrievalTestData.Grid(100, 4, seed: 1);
        Assert.Contains("Query row 100", Assert.Throws<ArgumentException>(
            () => ExactNearestNeighbours.Search(embeddings, [100], new NearestNeighbourOptions { K = 3 })).Message, StringComparison.Ordinal);
        Assert.Contains("'gpu'", Assert.Throws<ArgumentException>(
            () => ExactNearestNeighbours.Search(embeddings, [1], new NearestNeighbourOptions { K = 3, Device = "gpu" })).Message, StringComparison.Ordinal);
        Assert.Contains("K (the number", Assert.Throws<ArgumentOutOfRangeException>(
            () => ExactNearestNeighbours.Search(embeddings, [1], new NearestNeighbourOptions { K = 0 })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Search_CudaWithoutCuda_ThrowsNotSupported()
    {
        if (TorchSharp.torch.cuda.is_available())
        {
            return;
        }

        var embeddings = RetrievalTestData.Grid(100, 4, seed: 1);
        var ex = Assert.Throws<NotSupportedException>(() => ExactNearestNeighbours.Search(embeddings, [1], new NearestNeighbourOptions { K = 3, Device = "cuda" }));
        Assert.Contains("CUDA is not available", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Search_CosineWithZeroVector_ThrowsNamingTheVideo()
    {
        var embeddings = VideoEmbeddings.Create(["a", "b", "c"], [1, 0, 0, 0, 0, 1], 2, new EmbeddingLineage("test"));
        var ex = Assert.Throws<ArgumentException>(() => ExactNearestNeighbours.Search(embeddings, [0], new NearestNeighbourOptions { K = 1, Metric = DistanceMetric.Cosine }));
        Assert.Contains("'b'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TilePlan_SmallBudget_ShrinksTilesThenRefusesNamingTheOption()
    {
        var options = new NearestNeighbourOptions { K = 64, MemoryBudgetBytes = 8L << 20 };
        var plan = TilePlan.Choose(options, TopKStrategy.HostHeaps, count: 200_000, queries: 1000, dimension: 768);
        Assert.True(plan.Bytes <= options.MemoryBudgetBytes);
        Assert.True(plan.DatabaseRows < TilePlan.HostDatabaseRows);

        var roomy = TilePlan.Choose(new NearestNeighbourOptions(), TopKStrategy.HostHeaps, count: 200_000, queries: 6250, dimension: 768);
        Assert.Equal((TilePlan.HostQueryRows, TilePlan.HostDatabaseRows), (roomy.QueryRows, roomy.DatabaseRows));

        var tiny = new NearestNeighbourOptions { K = 64, MemoryBudgetBytes = 2L << 20 };
        var ex = Assert.Throws<ArgumentException>(() => TilePlan.Choose(tiny, TopKStrategy.HostHeaps, count: 1_220_000, queries: 38_000, dimension: 768));
        Assert.Contains("--memory-budget", ex.Message, StringComparison.Ordinal);
        Assert.Contains("at least", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TilePlan_ExplicitTilesOverBudget_Throws()
    {
        var options = new NearestNeighbourOptions { K = 8, MemoryBudgetBytes = 1L << 20, QueryTileRows = 1000, DatabaseTileRows = 1000 };
        var ex = Assert.Throws<ArgumentException>(() => TilePlan.Choose(options, TopKStrategy.HostHeaps, count: 5000, queries: 1000, dimension: 16));
        Assert.Contains("QueryTileRows 1000", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("4GiB", 4L << 30)]
    [InlineData("512MiB", 512L << 20)]
    [InlineData("1.5GB", 1_500_000_000L)]
    [InlineData("123456", 123456L)]
    public void ParseBytes_Sizes_AreParsed(string text, long expected) =>
        Assert.Equal(expected, NearestNeighbourOptions.ParseBytes(text));

    [Fact]
    public void ParseBytes_Garbage_ThrowsQuotingIt() =>
        Assert.Contains("'lots'", Assert.Throws<FormatException>(() => NearestNeighbourOptions.ParseBytes("lots")).Message, StringComparison.Ordinal);

    private static NearestNeighbourOptions Options(int k, DistanceMetric metric, int queryTile, int databaseTile, string strategy) => new()
    {
        K = k,
        Metric = metric,
        QueryTileRows = queryTile,
        DatabaseTileRows = databaseTile,
        Strategy = Enum.Parse<TopKStrategy>(strategy),
    };

    private static void AssertBruteForce(VideoEmbeddings embeddings, int[] queries, NeighbourTable table, DistanceMetric metric)
    {
        Assert.Equal(queries.Length, table.QueryCount);
        for (var q = 0; q < queries.Length; q++)
        {
            var expected = RetrievalTestData.BruteForce(embeddings, queries[q], table.K, metric);
            Assert.Equal(expected, table.Neighbours(q).ToArray());
        }
    }

    /// <summary>How many queries have another candidate at exactly the k-th neighbour's distance (a tie the search must break by id).</summary>
    private static int CountBoundaryTies(VideoEmbeddings embeddings, int[] queries, int k, DistanceMetric metric)
    {
        var ties = 0;
        foreach (var query in queries)
        {
            var kth = RetrievalTestData.BruteForce(embeddings, query, k + 1, metric);
            var q = embeddings.Vector(query);
            if (RetrievalTestData.Distance(q, embeddings.Vector(kth[k - 1]), metric) == RetrievalTestData.Distance(q, embeddings.Vector(kth[k]), metric))
            {
                ties++;
            }
        }

        return ties;
    }
}
