using VideoData.Training.Plans;
using VideoData.Training.Retrieval;

namespace VideoData.Training.Tests.Retrieval;

public sealed class ClusteredPlansTests
{
    private static readonly VideoEmbeddings s_blobs = RetrievalTestData.Blobs(960, 24, clusters: 12, seed: 7).Embeddings;

    [Fact]
    public void Build_SameInputsAndSeed_GivesIdenticalPlan()
    {
        var first = ClusteredPlans.Build(s_blobs, Options(seed: 5, epoch: 2));
        var second = ClusteredPlans.Build(s_blobs, Options(seed: 5, epoch: 2));

        Assert.Equal(Flatten(first), Flatten(second));
        Assert.Equal(BatchPlanKinds.Clustered, first.Kind);
        Assert.Equal((2, 5L, 32), (first.Epoch, first.Seed, first.BatchVideos));
    }

    [Fact]
    public void Build_InputOrderDoesNotMatter()
    {
        // The same videos handed over in reverse order: the set sorts by id, so the plan is the same.
        var ids = s_blobs.VideoIds.Reverse().ToArray();
        var vectors = ids.SelectMany(id => s_blobs.Vector(s_blobs.IndexOf(id)).ToArray()).ToArray();
        var reversed = VideoEmbeddings.Create(ids, vectors, s_blobs.Dimension, s_blobs.Lineage);

        Assert.Equal(Flatten(ClusteredPlans.Build(s_blobs, Options(1, 1))), Flatten(ClusteredPlans.Build(reversed, Options(1, 1))));
    }

    [Fact]
    public void Build_DifferentEpochOrSeed_GivesDifferentPlan()
    {
        var plan = Flatten(ClusteredPlans.Build(s_blobs, Options(seed: 5, epoch: 2)));
        Assert.NotEqual(plan, Flatten(ClusteredPlans.Build(s_blobs, Options(seed: 5, epoch: 3))));
        Assert.NotEqual(plan, Flatten(ClusteredPlans.Build(s_blobs, Options(seed: 6, epoch: 2))));
    }

    [Fact]
    public void Build_GroupsAsTheReference_QueryPlusNeighboursCutToARandomBatch()
    {
        const int k = 40;
        var plan = ClusteredPlans.Build(s_blobs, Options(seed: 9, epoch: 0, k: k));
        var queries = ClusteredPlans.SampleQueries(s_blobs.Count, s_blobs.Count / 32, 9, 0);

        // ⌊960 / 32⌋ = 30 batches, one per query; queries are distinct (drawn without replacement).
        Assert.Equal(30, plan.Batches.Count);
        Assert.Equal(30, queries.Distinct().Count());
        var queryKept = 0;
        for (var b = 0; b < plan.Batches.Count; b++)
        {
            var allowed = RetrievalTestData.BruteForce(s_blobs, queries[b], k, DistanceMetric.L2)
                .Select(r => s_blobs.VideoIds[r])
                .Append(s_blobs.VideoIds[queries[b]])
                .ToHashSet();
            Assert.Equal(32, plan.Batches[b].Count);
            Assert.Equal(32, plan.Batches[b].Distinct().Count());
            Assert.All(plan.Batches[b], id => Assert.Contains(id, allowed));
            queryKept += plan.Batches[b].Contains(s_blobs.VideoIds[queries[b]]) ? 1 : 0;
        }

        // The cut is a random 32 of 41, query included in the draw: it is sometimes left out (expected 78%).
        Assert.InRange(queryKept, 15, 29);
    }

    [Fact]
    public void Build_GroupNotLargerThanBatch_IsQueryThenNeighboursNearestFirst()
    {
        var options = Options(seed: 3, epoch: 1, k: 7);
        options.BatchVideos = 16;
        var plan = ClusteredPlans.Build(s_blobs, options);
        var queries = ClusteredPlans.SampleQueries(s_blobs.Count, s_blobs.Count / 16, 3, 1);

        for (var b = 0; b < plan.Batches.Count; b++)
        {
            var expected = RetrievalTestData.BruteForce(s_blobs, queries[b], 7, DistanceMetric.L2).Prepend(queries[b]).Select(r => s_blobs.VideoIds[r]);
            Assert.Equal(expected, plan.Batches[b]);
        }
    }

    [Fact]
    public void Build_OnClusteredData_BatchesAreMoreSimilarThanShuffled()
    {
        var (embeddings, cluster) = RetrievalTestData.Blobs(1280, 32, clusters: 16, seed: 11);
        var clustered = ClusteredPlans.Build(embeddings, Options(seed: 1, epoch: 0));
        var shuffled = BatchPlan.Shuffled(embeddings.VideoIds, 32, 1, 0);

        var clusteredSimilarity = clustered.Batches.Average(b => BatchSimilarity.MeanPairwiseCosine(embeddings, b));
        var shuffledSimilarity = shuffled.Batches.Average(b => BatchSimilarity.MeanPairwiseCosine(embeddings, b));

        // 16 blobs of ~80 videos: a query's 64 neighbours come from its own blob, a shuffled batch from all 16.
        Assert.True(clusteredSimilarity > shuffledSimilarity + 0.3, $"clustered {clusteredSimilarity:F3} vs shuffled {shuffledSimilarity:F3}");
        var sameCluster = clustered.Batches.Average(b => b.GroupBy(id => cluster[id]).Max(g => g.Count()) / (double)b.Count);
        Assert.True(sameCluster > 0.95, $"only {sameCluster:P0} of a clustered batch shares its main blob");
    }

    [Fact]
    public async Task Build_PlanRoundTripsThroughThePlanFormat()
    {
        var plan = ClusteredPlans.Build(s_blobs, Options(seed: 2, epoch: 4));
        var path = Path.Combine(Path.GetTempPath(), $"videodata-clustered-{Guid.NewGuid():N}.parquet");
        try
        {
            await BatchPlan.WriteAsync(plan, path);
            var read = await BatchPlan.ReadAsync(path);
            Assert.Equal(Flatten(plan), Flatten(read));
            Assert.Equal(BatchPlanKinds.Clustered, read.Kind);
            Assert.Contains("k 64", read.Source, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Build_TooFewVideos_ThrowsNamingTheCounts()
    {
        var small = RetrievalTestData.Grid(20, 4, seed: 1);
        var ex = Assert.Throws<ArgumentException>(() => ClusteredPlans.Build(small, Options(1, 0)));
        Assert.Contains("at least 32 videos", ex.Message, StringComparison.Ordinal);

        var fifty = RetrievalTestData.Grid(50, 4, seed: 1);
        ex = Assert.Throws<ArgumentException>(() => ClusteredPlans.Build(fifty, Options(1, 0)));
        Assert.Contains("K = 64", ex.Message, StringComparison.Ordinal);
    }

    private static ClusteredPlanOptions Options(long seed, int epoch, int k = 64) => new()
    {
        Seed = seed,
        Epoch = epoch,
        Neighbours = new NearestNeighbourOptions { K = k },
    };

    private static List<string> Flatten(BatchPlan plan) => plan.Batches.SelectMany(b => b.Append("|")).ToList();
}
