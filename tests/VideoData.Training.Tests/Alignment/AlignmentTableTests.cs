using System.Globalization;
using VideoData.Training.Alignment;

namespace VideoData.Training.Tests.Alignment;

public sealed class AlignmentTableTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-alignment-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task WriteAsync_ThenReadAsync_RoundTripsRowsAndLineage()
    {
        var table = new AlignmentTable(
            new AlignmentLineage("out/checkpoints/step-000000024", 3, 8, 0.25),
            AlignmentTestData.Table("a").Segments.Concat(AlignmentTestData.Table("b").Segments).ToList());
        var path = Path.Combine(_dir, "aligned.parquet");

        await AlignmentTable.WriteAsync(table, path);
        var read = await AlignmentTable.ReadAsync(path);

        Assert.Equal(table.Lineage, read.Lineage);
        Assert.Equal(table.Segments, read.Segments);
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public async Task ReadAsync_WithoutEpoch_ReadsNullEpoch()
    {
        var table = AlignmentTestData.Table() with { Lineage = new AlignmentLineage("by hand", null, 4, -0.5) };
        var path = Path.Combine(_dir, "manual.parquet");
        await AlignmentTable.WriteAsync(table, path);

        Assert.Equal(table.Lineage, (await AlignmentTable.ReadAsync(path)).Lineage);
    }

    [Fact]
    public async Task WriteAsync_IsReadableByDuckDb()
    {
        var path = Path.Combine(_dir, "duck.parquet");
        await AlignmentTable.WriteAsync(AlignmentTestData.Table(), path);

        var json = await DuckDb.QueryJsonAsync(
            $"SELECT video_id, segment, original_start, aligned_start, aligned_end, score, kept FROM read_parquet('{path}') ORDER BY segment",
            $"SELECT key::VARCHAR AS k, value::VARCHAR AS v FROM parquet_kv_metadata('{path}') ORDER BY k");

        var rows = json[0].EnumerateArray().ToList();
        Assert.Equal([0, 1, 2, 3], rows.Select(r => r.GetProperty("segment").GetInt32()));
        Assert.Equal(11.0, rows[0].GetProperty("aligned_start").GetDouble());
        Assert.Equal(13.5, rows[0].GetProperty("aligned_end").GetDouble());
        Assert.Equal(0.71, rows[0].GetProperty("score").GetDouble());
        Assert.Equal([true, false, true, true], rows.Select(r => r.GetProperty("kept").GetBoolean()));
        Assert.All(rows, r => Assert.Equal("v", r.GetProperty("video_id").GetString()));
        var meta = json[1].EnumerateArray().ToDictionary(r => r.GetProperty("k").GetString()!, r => r.GetProperty("v").GetString()!);
        Assert.Equal("ckpt/step-7", meta["videodata.alignment.checkpoint"]);
        Assert.Equal("2", meta["videodata.alignment.epoch"]);
        Assert.Equal("8", meta["videodata.alignment.window_seconds"]);
        Assert.Equal(0.3, double.Parse(meta["videodata.alignment.threshold"], CultureInfo.InvariantCulture));
        Assert.Equal(AlignmentTable.ScoreDefinition, meta["videodata.alignment.score"]);
    }

    [Fact]
    public async Task ReadAsync_NotATable_NamesTheFileAndTheProblem()
    {
        var missing = Path.Combine(_dir, "nope.parquet");
        var notFound = await Assert.ThrowsAsync<FileNotFoundException>(() => AlignmentTable.ReadAsync(missing));
        Assert.Contains(missing, notFound.Message, StringComparison.Ordinal);

        // A batch plan is Parquet, but not an alignment table.
        var plan = Path.Combine(_dir, "plan.parquet");
        await VideoData.Training.Plans.BatchPlan.WriteAsync(VideoData.Training.Plans.BatchPlan.Shuffled(["a", "b"], 2, 0, 0), plan);
        var wrong = await Assert.ThrowsAsync<InvalidDataException>(() => AlignmentTable.ReadAsync(plan));
        Assert.Contains(plan, wrong.Message, StringComparison.Ordinal);
        Assert.Contains("window_seconds", wrong.Message, StringComparison.Ordinal);
    }
}
