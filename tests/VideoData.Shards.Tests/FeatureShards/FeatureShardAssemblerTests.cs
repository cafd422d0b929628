using VideoData.Shards;
using VideoData.Testing;

namespace VideoData.Shards.Tests.FeatureShards;

/// <summary>Shards assembled from other shards' column chunks, without decoding the features.</summary>
public sealed class FeatureShardAssemblerTests : IDisposable
{
    private static readonly ShardLineage s_lineage = new() { WeightsSha256 = new string('a', 64) };
    private readonly string _dir = Directory.CreateTempSubdirectory("vd-assemble-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> WriteAsync(string name, ShardLineage lineage, params FeatureRecord[] records)
    {
        var path = Path.Combine(_dir, name);
        await using var writer = FeatureShardWriter.CreateFile(path, lineage, new FeatureShardWriterOptions { VideosPerRowGroup = 1 });
        foreach (var record in records)
        {
            await writer.AddAsync(record);
        }

        await writer.CompleteAsync();
        return path;
    }

    private static async Task<long> AssembleAsync(string output, IReadOnlyList<string> inputs, IReadOnlyList<(int, string)> picks)
    {
        var streams = inputs.Select(p => (Stream)File.OpenRead(p)).ToList();
        try
        {
            await using var destination = File.Create(output);
            return await FeatureShardAssembler.AssembleAsync([.. inputs.Zip(streams, (p, s) => new AssemblySource(p, s))], picks, destination);
        }
        finally
        {
            streams.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task AssembleAsync_PicksFromThreeFiles_ReaderAndDuckDbSeeTheSameRecordsInPickOrder()
    {
        var a = FeatureShardTests.MakeRecord("vid-a", 3, mixed: false, captions: 4, seed: 1);
        var b = FeatureShardTests.MakeRecord("vid-b", 1, mixed: false, captions: 0, seed: 2);
        var c = FeatureShardTests.MakeRecord("vid-c", 5, mixed: false, captions: 2, seed: 3);
        var d = FeatureShardTests.MakeRecord("vid-d", 2, mixed: false, captions: 1, seed: 4);
        var first = await WriteAsync("one.parquet", s_lineage, c, a);
        var second = await WriteAsync("two.parquet", s_lineage, b);
        var third = await WriteAsync("three.parquet", s_lineage, d);
        var output = Path.Combine(_dir, "assembled.parquet");

        // d is left out: a publish picks only the videos the ledger lists as done.
        await AssembleAsync(output, [first, second, third], [(0, "vid-a"), (1, "vid-b"), (0, "vid-c")]);

        await using var reader = await FeatureShardReader.OpenAsync(output);
        Assert.Equal(["vid-a", "vid-b", "vid-c"], reader.VideoIds);
        Assert.Equal(3, reader.RowGroupCount);
        // Bit for bit what the writer stored in the sources (float16-rounded by default).
        var stored = new Dictionary<string, FeatureRecord>();
        foreach (var path in new[] { first, second })
        {
            await using var source = await FeatureShardReader.OpenAsync(path);
            await foreach (var record in source.ReadAllAsync())
            {
                stored[record.VideoId] = record;
            }
        }

        foreach (var expected in new[] { a, b, c }.Select(r => stored[r.VideoId]))
        {
            var actual = await reader.ReadVideoAsync(expected.VideoId);
            Assert.Equal(expected.Features, actual.Features);
            Assert.Equal(expected.Captions, actual.Captions);
            Assert.Equal(expected.Duration, actual.Duration);
        }

        Assert.Equal(s_lineage.ToMetadata(FeatureStorage.Float32)["videodata.weights_sha256"], reader.Metadata["videodata.weights_sha256"]);
        var rows = await DuckDb.QueryJsonAsync($"select video_id, seconds, len(features)::INTEGER as n from read_parquet('{output}') order by video_id");
        Assert.Equal(["vid-a:3:1536", "vid-b:1:512", "vid-c:5:2560"], rows[0].EnumerateArray().Select(r => $"{r.GetProperty("video_id").GetString()}:{r.GetProperty("seconds").GetInt32()}:{r.GetProperty("n").GetInt32()}"));
    }

    [Fact]
    public async Task AssembleAsync_OfAnAssembledShard_IsByteIdentical()
    {
        var a = FeatureShardTests.MakeRecord("vid-a", 2, mixed: false, captions: 1, seed: 5);
        var b = FeatureShardTests.MakeRecord("vid-b", 2, mixed: false, captions: 1, seed: 6);
        var source = await WriteAsync("src.parquet", s_lineage, a, b);
        var once = Path.Combine(_dir, "once.parquet");
        var twice = Path.Combine(_dir, "twice.parquet");

        await AssembleAsync(once, [source], [(0, "vid-a"), (0, "vid-b")]);
        await AssembleAsync(twice, [once], [(0, "vid-a"), (0, "vid-b")]);

        Assert.Equal(await File.ReadAllBytesAsync(once), await File.ReadAllBytesAsync(twice));
    }

    [Fact]
    public async Task AssembleAsync_DifferentEncoderWeights_ThrowsNamingTheSource()
    {
        var first = await WriteAsync("w1.parquet", s_lineage, FeatureShardTests.MakeRecord("vid-a", 1, false, 0, 1));
        var second = await WriteAsync("w2.parquet", new ShardLineage { WeightsSha256 = new string('b', 64) }, FeatureShardTests.MakeRecord("vid-b", 1, false, 0, 2));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => AssembleAsync(Path.Combine(_dir, "x.parquet"), [first, second], [(0, "vid-a"), (1, "vid-b")]));
        Assert.Contains("w2.parquet", error.Message, StringComparison.Ordinal);
        Assert.Contains("lineage", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AssembleAsync_VideoSharingItsRowGroup_IsRefused()
    {
        var path = Path.Combine(_dir, "grouped.parquet");
        await using (var writer = FeatureShardWriter.CreateFile(path, s_lineage, new FeatureShardWriterOptions { VideosPerRowGroup = 16 }))
        {
            await writer.AddAsync(FeatureShardTests.MakeRecord("vid-a", 1, false, 0, 1));
            await writer.AddAsync(FeatureShardTests.MakeRecord("vid-b", 1, false, 0, 2));
            await writer.CompleteAsync();
        }

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => AssembleAsync(Path.Combine(_dir, "y.parquet"), [path], [(0, "vid-a")]));
        Assert.Contains("shares its row group", error.Message, StringComparison.Ordinal);
    }
}
