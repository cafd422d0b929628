using VideoData.Training.Plans;

namespace VideoData.Training.Tests.Plans;

public sealed class BatchPlanTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-plan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<string> Ids(int n) => Enumerable.Range(0, n).Select(i => $"vid{i:D4}").ToList();

    [Fact]
    public void Shuffled_SameSeedAndEpoch_SamePlanWhateverTheInputOrder()
    {
        var ids = Ids(100);
        var reversed = Enumerable.Reverse(ids).ToList();
        var a = BatchPlan.Shuffled(ids, 32, seed: 7, epoch: 3);
        var b = BatchPlan.Shuffled(reversed, 32, seed: 7, epoch: 3);
        Assert.Equal(Flatten(a), Flatten(b));
        Assert.Equal([32, 32, 32, 4], a.Batches.Select(x => x.Count));
        Assert.Equal(ids.Order(StringComparer.Ordinal), Flatten(a).Order(StringComparer.Ordinal));
        Assert.NotEqual(ids, Flatten(a));
    }

    [Fact]
    public void Shuffled_OtherEpochOrSeed_OtherOrder()
    {
        var ids = Ids(64);
        var baseline = Flatten(BatchPlan.Shuffled(ids, 8, 1, 0));
        Assert.NotEqual(baseline, Flatten(BatchPlan.Shuffled(ids, 8, 1, 1)));
        Assert.NotEqual(baseline, Flatten(BatchPlan.Shuffled(ids, 8, 2, 0)));
    }

    [Fact]
    public void Shuffled_DuplicateId_ThrowsNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => BatchPlan.Shuffled(["a", "b", "a"], 2, 0, 0));
        Assert.Contains("'a'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ForRank_SplitsRoundsEquallyAndDropsTheIncompleteRound()
    {
        var plan = BatchPlan.Shuffled(Ids(10 * 4 + 3), 4, 5, 0); // 11 batches
        var ranks = Enumerable.Range(0, 3).Select(r => plan.ForRank(r, 3)).ToList();
        Assert.All(ranks, r => Assert.Equal(3, r.Batches.Count));
        for (var step = 0; step < 3; step++)
        {
            for (var r = 0; r < 3; r++)
            {
                Assert.Equal(plan.Batches[(step * 3) + r], ranks[r].Batches[step]);
            }
        }

        Assert.Throws<ArgumentException>(() => plan.ForRank(0, 12));
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.ForRank(3, 3));
    }

    [Fact]
    public async Task WriteAsync_ThenReadAsync_RoundTrips()
    {
        var plan = BatchPlan.Shuffled(Ids(70), 32, 11, 2) with { Source = "test lineage" };
        var path = Path.Combine(_dir, "sub", "epoch-0002.parquet");
        await BatchPlan.WriteAsync(plan, path);
        var read = await BatchPlan.ReadAsync(path);
        Assert.Equal(plan.Epoch, read.Epoch);
        Assert.Equal(plan.Seed, read.Seed);
        Assert.Equal(plan.Kind, read.Kind);
        Assert.Equal(plan.BatchVideos, read.BatchVideos);
        Assert.Equal("test lineage", read.Source);
        Assert.Equal(plan.Batches.Count, read.Batches.Count);
        for (var i = 0; i < plan.Batches.Count; i++)
        {
            Assert.Equal(plan.Batches[i], read.Batches[i]);
        }

        Assert.Equal(["epoch-0002.parquet"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public async Task WriteAsync_IsReadableByDuckDb()
    {
        var plan = BatchPlan.Shuffled(Ids(40), 16, 3, 1);
        var path = Path.Combine(_dir, "plan.parquet");
        await BatchPlan.WriteAsync(plan, path);
        var json = await DuckDb.QueryJsonAsync(
            $"SELECT batch, position, video_id FROM read_parquet('{path}') ORDER BY batch, position",
            $"SELECT key::VARCHAR AS k, value::VARCHAR AS v FROM parquet_kv_metadata('{path}') ORDER BY k");
        var rows = json[0].EnumerateArray().ToList();
        Assert.Equal(40, rows.Count);
        var flat = Flatten(plan);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(i / 16, rows[i].GetProperty("batch").GetInt32());
            Assert.Equal(i % 16, rows[i].GetProperty("position").GetInt32());
            Assert.Equal(flat[i], rows[i].GetProperty("video_id").GetString());
        }

        var meta = json[1].EnumerateArray().ToDictionary(r => r.GetProperty("k").GetString()!, r => r.GetProperty("v").GetString()!);
        Assert.Equal("1", meta["videodata.plan.epoch"]);
        Assert.Equal("3", meta["videodata.plan.seed"]);
        Assert.Equal("shuffled", meta["videodata.plan.kind"]);
        Assert.Equal("16", meta["videodata.plan.batch_videos"]);
    }

    [Fact]
    public async Task ReadAsync_NotAPlan_ThrowsNamingTheFile()
    {
        var path = Path.Combine(_dir, "garbage.parquet");
        await File.WriteAllTextAsync(path, "this is not parquet");
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => BatchPlan.ReadAsync(path));
        Assert.Contains("garbage.parquet", ex.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<FileNotFoundException>(() => BatchPlan.ReadAsync(Path.Combine(_dir, "none.parquet")));
        Assert.Contains("none.parquet", missing.Message, StringComparison.Ordinal);
    }

    private static List<string> Flatten(BatchPlan plan) => plan.Batches.SelectMany(b => b).ToList();
}
