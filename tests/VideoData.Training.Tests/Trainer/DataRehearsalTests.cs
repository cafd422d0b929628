using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Streaming;
using VideoData.Training.Trainer;

namespace VideoData.Training.Tests.Trainer;

public sealed class DataRehearsalTests
{
    private static readonly BatchStreamerOptions s_options = new() { Sampler = new ClipSamplerOptions { FeatureDim = 8, ClipsPerVideo = 4 } };

    private static async Task<List<BatchDigest>> CollectAsync(IVideoStore store, BatchPlan plan, TrainingRank rank, BatchStreamerOptions options)
    {
        var list = new List<BatchDigest>();
        await foreach (var digest in DataRehearsal.StreamAsync(store, plan, rank, options))
        {
            list.Add(digest);
        }

        return list;
    }

    [Fact]
    public async Task StreamAsync_WorldSizes1To3_RanksTogetherSeeTheSingleProcessBatchesBitForBit()
    {
        var store = new InMemoryVideoStore(Sampling.OverlappedClipSamplerTests.AwkwardVideos());
        var plan = BatchPlan.Shuffled(store.VideoIds, 4, 11, 1); // 60 videos: 15 batches
        var single = await CollectAsync(store, plan, TrainingRank.Single, s_options);
        Assert.Equal(15, single.Count);
        Assert.Equal(Enumerable.Range(0, 15), single.Select(d => d.PlanBatch));
        Assert.Equal(plan.Batches, single.Select(d => d.VideoIds));
        // The digest really depends on the clips: another epoch's clips of the same videos differ.
        var otherEpoch = await CollectAsync(store, plan with { Epoch = 2 }, TrainingRank.Single, s_options);
        Assert.All(single.Zip(otherEpoch), p => Assert.NotEqual(p.First.Sha256, p.Second.Sha256));

        foreach (var world in new[] { 2, 3 })
        {
            var union = new List<BatchDigest>();
            // Ranks run in reverse order, and with other prefetch settings, to show neither matters.
            foreach (var rank in Enumerable.Range(0, world).Reverse())
            {
                var mine = await CollectAsync(store, plan, new TrainingRank(rank, world), s_options with { Assemblers = 1 + rank, PrefetchDepth = 1 + (2 * rank) });
                Assert.Equal(15 / world, mine.Count);
                Assert.Equal(Enumerable.Range(0, mine.Count), mine.Select(d => d.Step));
                Assert.All(mine, d => Assert.Equal(rank, d.PlanBatch % world));
                union.AddRange(mine);
            }

            var whole = 15 / world * world;
            var expected = single.Take(whole).Select(d => (d.PlanBatch, d.VideoIds, d.Clips, d.Sha256)).ToList();
            var actual = union.OrderBy(d => d.PlanBatch).Select(d => (d.PlanBatch, d.VideoIds, d.Clips, d.Sha256)).ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].PlanBatch, actual[i].PlanBatch);
                Assert.Equal(expected[i].VideoIds, actual[i].VideoIds);
                Assert.Equal(expected[i].Clips, actual[i].Clips);
                Assert.Equal(expected[i].Sha256, actual[i].Sha256);
            }
        }
    }

    [Fact]
    public async Task StreamAsync_FewerBatchesThanRanks_ThrowsNamingTheWorldSize()
    {
        var store = new InMemoryVideoStore(Sampling.OverlappedClipSamplerTests.AwkwardVideos());
        var plan = BatchPlan.Shuffled(store.VideoIds.Take(6), 4, 0, 0); // 2 batches
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => CollectAsync(store, plan, new TrainingRank(0, 3), s_options));
        Assert.Contains("world size 3", ex.Message, StringComparison.Ordinal);
    }
}
