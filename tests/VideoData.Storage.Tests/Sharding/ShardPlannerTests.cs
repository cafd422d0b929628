using VideoData.Storage.Sharding;

namespace VideoData.Storage.Tests.Sharding;

public sealed class ShardPlannerTests
{
    private static string[] Ids(int count) => Enumerable.Range(0, count).Select(i => $"video{i:D6}").ToArray();

    [Fact]
    public void OrderKey_NistVector_IsFirstEightBytesBigEndian()
    {
        // SHA-256("abc") = ba7816bf 8f01cfea 414140de ... (FIPS 180-2 example).
        Assert.Equal(0xba7816bf8f01cfeaUL, ShardPlanner.OrderKey("abc"));
    }

    [Fact]
    public void Plan_RowOrderShuffled_GivesTheSamePlan()
    {
        var ids = Ids(1000);
        var shuffled = ids.OrderBy(_ => Guid.NewGuid()).ToArray();

        var a = ShardPlanner.Plan(ids, 64);
        var b = ShardPlanner.Plan(shuffled, 64);

        Assert.Equal(a.Shards.Count, b.Shards.Count);
        for (var i = 0; i < a.Shards.Count; i++)
        {
            Assert.Equal(a.Shards[i].VideoIds, b.Shards[i].VideoIds);
        }
    }

    [Fact]
    public void Plan_CutsOrderedIdsIntoConsecutiveShards()
    {
        var plan = ShardPlanner.Plan(Ids(1000), 300);

        Assert.Equal([300, 300, 300, 100], plan.Shards.Select(s => s.VideoIds.Count));
        Assert.Equal(["shard-00000", "shard-00001", "shard-00002", "shard-00003"], plan.Shards.Select(s => s.Name));
        Assert.Equal(1000, plan.VideoCount);
        var all = plan.Shards.SelectMany(s => s.VideoIds).ToArray();
        Assert.Equal(Ids(1000).Order(StringComparer.Ordinal), all.Order(StringComparer.Ordinal));
        var keys = all.Select(ShardPlanner.OrderKey).ToArray();
        Assert.Equal(keys.Order(), keys);
    }

    [Fact]
    public void Plan_DefaultShardSize_Is4096()
    {
        var plan = ShardPlanner.Plan(Ids(5000));
        Assert.Equal([4096, 904], plan.Shards.Select(s => s.VideoIds.Count));
    }

    [Fact]
    public void Plan_DuplicateId_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => ShardPlanner.Plan(["a", "b", "a"], 2));
        Assert.Contains("Duplicate video id 'a'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ForWorker_EveryWorkerCount_PartitionsShardsExactly()
    {
        var plan = ShardPlanner.Plan(Ids(500), 10);
        foreach (var workers in new[] { 1, 3, 7, 50, 64 })
        {
            var taken = Enumerable.Range(0, workers).SelectMany(w => plan.ForWorker(new WorkerSlot(w, workers)).Select(s => s.Id)).ToList();
            Assert.Equal(Enumerable.Range(0, plan.Shards.Count), taken.Order());
        }

        Assert.Equal([2, 7, 12, 17, 22, 27, 32, 37, 42, 47], plan.ForWorker(new WorkerSlot(2, 5)).Select(s => s.Id));
        Assert.Equal("shard-123456", ShardPlanner.ShardName(123456));
    }

    [Fact]
    public void Resolve_SlurmArray_UsesTaskIdAndCount()
    {
        var env = new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "3", ["SLURM_ARRAY_TASK_COUNT"] = "8" };
        Assert.Equal(new WorkerSlot(3, 8), WorkerSlot.Resolve(null, null, null, env.GetValueOrDefault));
    }

    [Fact]
    public void Resolve_OneBasedSlurmArray_SubtractsTaskMin()
    {
        var env = new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "8", ["SLURM_ARRAY_TASK_MIN"] = "1", ["SLURM_ARRAY_TASK_COUNT"] = "8" };
        Assert.Equal(new WorkerSlot(7, 8), WorkerSlot.Resolve(null, null, null, env.GetValueOrDefault));
    }

    [Fact]
    public void Resolve_KubernetesIndex_TakesCountFromPipelineOrFails()
    {
        var env = new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "5" };
        Assert.Equal(new WorkerSlot(5, 16), WorkerSlot.Resolve(null, null, 16, env.GetValueOrDefault));

        var error = Assert.Throws<ArgumentException>(() => WorkerSlot.Resolve(null, null, null, env.GetValueOrDefault));
        Assert.Contains("JOB_COMPLETION_INDEX", error.Message, StringComparison.Ordinal);
        Assert.Contains("--shard-count", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_FlagsOverrideEnvironment_AndNothingMeansOneWorker()
    {
        var env = new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "3", ["SLURM_ARRAY_TASK_COUNT"] = "8" };
        Assert.Equal(new WorkerSlot(1, 2), WorkerSlot.Resolve(1, 2, null, env.GetValueOrDefault));
        Assert.Equal(WorkerSlot.Single, WorkerSlot.Resolve(null, null, null, _ => null));
    }

    [Theory]
    [InlineData(4, 4, "outside 0..3")]
    [InlineData(0, 0, "at least 1")]
    [InlineData(-1, 2, "outside 0..1")]
    public void Resolve_BadValues_NameTheSource(int index, int count, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => WorkerSlot.Resolve(index, count, null, _ => null));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_NonNumericEnvironment_NamesTheVariable()
    {
        var error = Assert.Throws<ArgumentException>(() => WorkerSlot.Resolve(null, null, null, name => name == "SLURM_ARRAY_TASK_ID" ? "x1" : null));
        Assert.Contains("SLURM_ARRAY_TASK_ID = 'x1'", error.Message, StringComparison.Ordinal);
    }
}

public sealed class ShardPlannerBucketTests
{
    private static string[] Ids(int count, string prefix = "video") => Enumerable.Range(0, count).Select(i => $"{prefix}{i:D6}").ToArray();

    private static Dictionary<string, int> ShardOf(ShardPlan plan) =>
        plan.Shards.SelectMany(s => s.VideoIds.Select(id => (id, s.Id))).ToDictionary(p => p.id, p => p.Id, StringComparer.Ordinal);

    [Fact]
    public void PlanBuckets_GrownAndShrunkManifest_NoVideoChangesShard()
    {
        var ids = Ids(5000);
        var before = ShardOf(ShardPlanner.PlanBuckets(ids, 8));
        var grown = ShardOf(ShardPlanner.PlanBuckets([.. ids, .. Ids(500, "new")], 8));
        var shrunk = ShardOf(ShardPlanner.PlanBuckets(ids.Where((_, i) => i % 7 != 3), 8));

        Assert.All(ids, id => Assert.Equal(before[id], grown[id]));
        Assert.All(shrunk, kv => Assert.Equal(before[kv.Key], kv.Value));
        Assert.Equal(5500, grown.Count);
    }

    [Fact]
    public void PlanBuckets_ConsecutiveCutsWouldMoveVideos_BucketsDoNot()
    {
        // The reason for the rule: removing one id shifts every later consecutive cut.
        // Remove the id that sorts first, as the five-video example did with one row.
        var ids = Ids(50).OrderBy(ShardPlanner.OrderKey).ToArray();
        var cuts = ShardOf(ShardPlanner.Plan(ids, 10));
        var cutsAfter = ShardOf(ShardPlanner.Plan(ids.Skip(1), 10));
        Assert.Contains(ids.Skip(1), id => cuts[id] != cutsAfter[id]);

        var buckets = ShardOf(ShardPlanner.PlanBuckets(ids, 5));
        var bucketsAfter = ShardOf(ShardPlanner.PlanBuckets(ids.Skip(1), 5));
        Assert.All(ids.Skip(1), id => Assert.Equal(buckets[id], bucketsAfter[id]));
    }

    [Fact]
    public void BucketOf_IsTheRangeOfTheOrderKey_AndEveryBucketIsAShard()
    {
        var plan = ShardPlanner.PlanBuckets(Ids(2000), 7);

        Assert.Equal(7, plan.Shards.Count);
        Assert.Equal(2000, plan.VideoCount);
        foreach (var shard in plan.Shards)
        {
            Assert.All(shard.VideoIds, id => Assert.Equal(shard.Id, ShardPlanner.BucketOf(id, 7)));
            Assert.All(shard.VideoIds, id => Assert.Equal(shard.Id, (int)((double)ShardPlanner.OrderKey(id) / Math.Pow(2, 64) * 7)));
            Assert.InRange(shard.VideoIds.Count, 200, 380); // ~286 each for a uniform hash
        }
    }

    [Fact]
    public void PlanBuckets_DuplicateId_Throws()
    {
        Assert.Throws<ArgumentException>(() => ShardPlanner.PlanBuckets(["a", "b", "a"], 2));
        Assert.Equal(3, ShardPlanner.BucketCountFor(9, 4));
        Assert.Equal(1, ShardPlanner.BucketCountFor(0, 4));
    }
}
