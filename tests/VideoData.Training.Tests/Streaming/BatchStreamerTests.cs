using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Streaming;
using static TorchSharp.torch;

namespace VideoData.Training.Tests.Streaming;

public sealed class BatchStreamerTests
{
    private static readonly BatchStreamerOptions s_options = new() { Sampler = new ClipSamplerOptions { FeatureDim = 8, ClipsPerVideo = 4 } };

    private static InMemoryVideoStore Store() => new(Sampling.OverlappedClipSamplerTests.AwkwardVideos());

    private static async Task<List<Snapshot>> CollectAsync(IVideoStore store, BatchPlan plan, BatchStreamerOptions options, int startStep = 0)
    {
        var list = new List<Snapshot>();
        await foreach (var batch in BatchStreamer.StreamAsync(store, plan, options, startStep))
        {
            using (batch)
            {
                list.Add(Snapshot.Of(batch));
            }
        }

        return list;
    }

    [Fact]
    public async Task StreamAsync_TensorsHaveTheReferenceShapesAndDtypes()
    {
        var store = Store();
        var plan = BatchPlan.Shuffled(store.VideoIds, 8, 1, 0);
        await foreach (var batch in BatchStreamer.StreamAsync(store, plan, s_options))
        {
            using (batch)
            {
                var n = plan.Batches[batch.Step].Count * 4;
                Assert.Equal([n, 64], batch.Caps.shape);
                Assert.Equal(ScalarType.Int64, batch.Caps.dtype);
                Assert.Equal([n, 64], batch.Cmasks.shape);
                Assert.Equal(ScalarType.Bool, batch.Cmasks.dtype);
                Assert.Equal([n, 32, 8], batch.Vfeats.shape);
                Assert.Equal(ScalarType.Float32, batch.Vfeats.dtype);
                Assert.Equal([n, 32], batch.Vmasks.shape);
                Assert.Equal(ScalarType.Bool, batch.Vmasks.dtype);
                Assert.Equal(plan.Batches[batch.Step].SelectMany(id => Enumerable.Repeat(id, 4)), batch.VideoIds);
                var vmaskCounts = batch.Vmasks.sum(1).data<long>().ToArray();
                Assert.Equal(batch.Spans.Select(s => (long)Math.Min(32, s.VideoLength)), vmaskCounts);
            }
        }
    }

    [Fact]
    public async Task StreamAsync_SameAcrossRunsAndAssemblerCounts()
    {
        var store = Store();
        var plan = BatchPlan.Shuffled(store.VideoIds, 8, 4, 1);
        var one = await CollectAsync(store, plan, s_options with { Assemblers = 1, PrefetchDepth = 1 });
        var many = await CollectAsync(store, plan, s_options with { Assemblers = 3, PrefetchDepth = 5 });
        Assert.Equal(plan.Batches.Count, one.Count);
        Assert.Equal(one, many);
    }

    [Fact]
    public async Task StreamAsync_RanksTogether_EqualTheSingleProcessStream()
    {
        var store = Store();
        var plan = BatchPlan.Shuffled(store.VideoIds, 4, 4, 2); // 15 batches
        var single = await CollectAsync(store, plan, s_options);
        foreach (var world in new[] { 2, 3, 4 })
        {
            var ranks = new List<List<Snapshot>>();
            // Ranks run in reverse order to show nothing depends on which runs first.
            foreach (var rank in Enumerable.Range(0, world).Reverse())
            {
                ranks.Insert(0, await CollectAsync(store, plan.ForRank(rank, world), s_options));
            }

            var perRank = plan.Batches.Count / world;
            Assert.All(ranks, r => Assert.Equal(perRank, r.Count));
            for (var step = 0; step < perRank; step++)
            {
                for (var rank = 0; rank < world; rank++)
                {
                    Assert.Equal(single[(step * world) + rank] with { Step = step }, ranks[rank][step]);
                }
            }
        }
    }

    [Fact]
    public async Task StreamAsync_ResumedAtAStep_EqualsTheUninterruptedTail()
    {
        var store = Store();
        var plan = BatchPlan.Shuffled(store.VideoIds, 8, 9, 3);
        var full = await CollectAsync(store, plan, s_options);
        var resumed = await CollectAsync(store, plan, s_options, startStep: 5);
        Assert.Equal(full.Skip(5), resumed);
        Assert.Empty(await CollectAsync(store, plan, s_options, startStep: plan.Batches.Count));
    }

    [Fact]
    public async Task StreamAsync_ConsumerStopsEarly_StopsCleanly()
    {
        var store = Store();
        var plan = BatchPlan.Shuffled(store.VideoIds, 2, 0, 0);
        var taken = 0;
        await foreach (var batch in BatchStreamer.StreamAsync(store, plan, s_options with { PrefetchDepth = 3, Assemblers = 2 }))
        {
            batch.Dispose();
            if (++taken == 2)
            {
                break;
            }
        }

        Assert.Equal(2, taken);
    }

    [Fact]
    public async Task StreamAsync_MissingVideo_FailsNamingIt()
    {
        var store = Store();
        var plan = new BatchPlan(0, 0, BatchPlanKinds.Shuffled, [["v001", "v002"], ["v003", "nope"]], 2, "test");
        var ex = await Assert.ThrowsAsync<KeyNotFoundException>(() => CollectAsync(store, plan, s_options));
        Assert.Contains("nope", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Everything a batch holds, as plain values, for exact comparison.</summary>
    private sealed record Snapshot(int Epoch, int Step, string Ids, string Spans, long[] Caps, bool[] Cmasks, float[] Vfeats, bool[] Vmasks)
    {
        public static Snapshot Of(ClipBatch b) => new(
            b.Epoch,
            b.Step,
            string.Join(",", b.VideoIds),
            string.Join(",", b.Spans),
            b.Caps.data<long>().ToArray(),
            b.Cmasks.data<bool>().ToArray(),
            b.Vfeats.data<float>().ToArray(),
            b.Vmasks.data<bool>().ToArray());

        public bool Equals(Snapshot? other) =>
            other is not null && Epoch == other.Epoch && Step == other.Step && Ids == other.Ids && Spans == other.Spans
            && Caps.AsSpan().SequenceEqual(other.Caps) && Cmasks.AsSpan().SequenceEqual(other.Cmasks)
            && Vfeats.AsSpan().SequenceEqual(other.Vfeats) && Vmasks.AsSpan().SequenceEqual(other.Vmasks);

        public override int GetHashCode() => HashCode.Combine(Epoch, Step, Ids, Spans);
    }
}
