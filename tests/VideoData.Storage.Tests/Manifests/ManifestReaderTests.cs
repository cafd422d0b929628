using System.Diagnostics;
using System.Text;
using Parquet;
using Parquet.Schema;
using VideoData.Storage.Blobs;
using VideoData.Storage.Manifests;
using VideoData.Testing;

namespace VideoData.Storage.Tests.Manifests;

public sealed class ManifestReaderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("videodata-manifests-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static Task<IReadOnlyList<ManifestEntry>> ReadTextAsync(string text, string name, ManifestOptions options) =>
        ManifestReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), name, options);

    private static async Task<ManifestException> InvalidAsync(string text, string name, ManifestOptions? options = null) =>
        await Assert.ThrowsAsync<ManifestException>(() => ReadTextAsync(text, name, options ?? new ManifestOptions()));

    [Fact]
    public async Task ReadAsync_HowTo100MMetadataCsvWithTemplate_BuildsUris()
    {
        const string csv = "video_id,category_1,category_2,rank,task_id\r\n" +
                           "nVbIUDjzWY4,Cars & Other Vehicles,Motorcycles,27,52907\r\n" +
                           "CTPAZ2euJ2Q,\"Food, Drink\",Recipes,35,109972\r\n" +
                           "\r\n";
        var entries = await ReadTextAsync(csv, "HowTo100M_v1.csv", new ManifestOptions { UriTemplate = "s3://howto100m/videos/{video_id}.mp4", CaptionUriTemplate = "s3://howto100m/captions/{video_id}.vtt" });

        Assert.Equal(["nVbIUDjzWY4", "CTPAZ2euJ2Q"], entries.Select(e => e.VideoId));
        Assert.Equal("s3://howto100m/videos/CTPAZ2euJ2Q.mp4", entries[1].Uri);
        Assert.Equal("s3://howto100m/captions/CTPAZ2euJ2Q.vtt", entries[1].CaptionUri);
        Assert.Equal(2, entries[1].Row);
        Assert.Null(entries[0].DurationSeconds);
    }

    [Fact]
    public async Task ReadAsync_CsvWithUriCaptionAndDuration_ReadsEveryColumn()
    {
        const string csv = "uri,video_id,duration,caption_uri\nvideos/a.mp4,abc_DEF-123,12.5,captions/a.json\n\"videos/b,1.mp4\",b.2,0,\n";
        var entries = await ReadTextAsync(csv, "m.csv", new ManifestOptions { LocalRoot = _root });

        Assert.Equal(new ManifestEntry("abc_DEF-123", "videos/a.mp4", "captions/a.json", 12.5, 1), entries[0]);
        Assert.Equal(new ManifestEntry("b.2", "videos/b,1.mp4", null, 0, 2), entries[1]);
    }

    [Fact]
    public async Task ReadAsync_JsonLines_ReadsEveryColumn()
    {
        const string jsonl = "{\"video_id\":\"v1\",\"uri\":\"s3://bucket/v1.mp4\",\"duration\":61.2}\n\n{\"video_id\":\"v2\",\"uri\":\"s3://bucket/v2.mp4\",\"caption_uri\":\"s3://bucket/v2.vtt\",\"duration\":\"3\"}\n";
        var entries = await ReadTextAsync(jsonl, "m.jsonl", new ManifestOptions());

        Assert.Equal(new ManifestEntry("v1", "s3://bucket/v1.mp4", null, 61.2, 1), entries[0]);
        Assert.Equal(new ManifestEntry("v2", "s3://bucket/v2.mp4", "s3://bucket/v2.vtt", 3, 2), entries[1]);
    }

    [Fact]
    public async Task ReadAsync_ParquetWrittenByDuckDb_ReadsEveryColumn()
    {
        var csv = Path.Combine(_root, "m.csv");
        var builder = new StringBuilder("video_id,uri,duration\n");
        for (var i = 0; i < 10; i++)
        {
            builder.Append($"vid{i:D2},s3://corpus/videos/vid{i:D2}.mp4,{i * 1.5}\n");
        }

        await File.WriteAllTextAsync(csv, builder.ToString());
        var parquet = Path.Combine(_root, "m.parquet");
        RunDuckDb(csv, parquet);

        using var resolver = new BlobStoreResolver(new BlobStoreOptions { LocalRoot = _root });
        var entries = await ManifestReader.ReadAsync("m.parquet", resolver, new ManifestOptions { LocalRoot = _root });

        Assert.Equal(10, entries.Count);
        Assert.Equal(new ManifestEntry("vid07", "s3://corpus/videos/vid07.mp4", null, 10.5, 8), entries[7]);
    }

    [Fact]
    public async Task ReadAsync_ParquetWithNullableColumns_ReadsNullsAsMissing()
    {
        var id = new DataField<string>("video_id");
        var caption = new DataField<string>("caption_uri", true);
        var duration = new DataField<float?>("duration");
        var path = Path.Combine(_root, "n.parquet");
        await using (var file = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(id, caption, duration), file);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(id, ["x1", "x2"]);
            await group.WriteAsync(caption, ["c/x1.vtt", null!]);
            await group.WriteAsync<float>(duration, new float?[] { 2.5f, null });
        }

        await using var stream = File.OpenRead(path);
        var entries = await ManifestReader.ReadAsync(stream, path, new ManifestOptions { UriTemplate = "videos/{video_id}.mp4", LocalRoot = _root });

        Assert.Equal(new ManifestEntry("x1", "videos/x1.mp4", "c/x1.vtt", 2.5, 1), entries[0]);
        Assert.Equal(new ManifestEntry("x2", "videos/x2.mp4", null, null, 2), entries[1]);
    }

    [Theory]
    [InlineData("../outside.mp4", "may not leave it")]
    [InlineData("videos/../../outside.mp4", "'..' path segment")]
    [InlineData("/etc/passwd", "absolute path")]
    [InlineData("file:///etc/passwd", "absolute path")]
    [InlineData("http://example.invalid/a.mp4", "only s3:// and file://")]
    [InlineData("s3://Bad_Bucket/a.mp4", "bucket")]
    [InlineData("videos/", "names a folder")]
    public async Task ReadAsync_UnsafeUri_NamesRowAndProblem(string uri, string expected)
    {
        var error = await InvalidAsync($"video_id,uri\nok1,videos/ok.mp4\nbad1,{uri}\n", "m.csv", new ManifestOptions { LocalRoot = _root });

        Assert.Equal(1, error.TotalProblems);
        var problem = Assert.Single(error.Problems);
        Assert.Equal(2, problem.Row);
        Assert.Equal("bad1", problem.VideoId);
        Assert.Contains(expected, problem.Message, StringComparison.Ordinal);
        Assert.Contains("row 2 (video 'bad1')", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a/b", "path separator")]
    [InlineData("..", "'..'")]
    [InlineData("a..b", "'..'")]
    [InlineData(".hidden", "starts with '.'")]
    [InlineData("sp ace", "contains ' '")]
    [InlineData("tab\u0001x", "control character U+0001")]
    [InlineData("é11chars___", "contains 'é'")]
    public async Task ReadAsync_BadVideoId_NamesTheCharacter(string id, string expected)
    {
        var error = await InvalidAsync($"video_id,uri\n{id},s3://bucket/x.mp4\n", "m.csv");
        Assert.Contains(expected, Assert.Single(error.Problems).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_EmptyOrOverlongId_IsRejected()
    {
        var error = await InvalidAsync("video_id,uri\n,s3://bucket/x.mp4\n" + new string('a', 129) + ",s3://bucket/y.mp4\n", "m.csv");
        Assert.Contains("empty", error.Problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("129 characters long (at most 128)", error.Problems[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_DuplicateIds_ListsEachDuplicateWithItsFirstRow()
    {
        var error = await InvalidAsync("video_id,uri\nv1,s3://b1b/1.mp4\nv2,s3://b1b/2.mp4\nv1,s3://b1b/3.mp4\nv1,s3://b1b/4.mp4\n", "m.csv");

        Assert.Equal(2, error.TotalProblems);
        Assert.All(error.Problems, p => Assert.Equal("duplicate video id (first at row 1)", p.Message));
        Assert.Equal([3L, 4L], error.Problems.Select(p => p.Row));
    }

    [Fact]
    public async Task ReadAsync_MissingVideoIdColumn_NamesTheColumns()
    {
        var error = await InvalidAsync("id,uri\nv1,s3://bucket/1.mp4\n", "m.csv");
        Assert.Contains("missing required column 'video_id' (columns: 'id', 'uri')", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_NoUriColumnAndNoTemplate_SaysToGiveATemplate()
    {
        var error = await InvalidAsync("video_id,category_1\nv1,Food\n", "HowTo100M_v1.csv");
        Assert.Contains("missing column 'uri' and no URI template given", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_BadDurationsAndFieldCounts_AreReported()
    {
        var error = await InvalidAsync("video_id,uri,duration\nv1,s3://bucket/1.mp4,abc\nv2,s3://bucket/2.mp4,-1\nv3,s3://bucket/3.mp4\n", "m.csv");

        Assert.Contains("duration 'abc' is not a number", error.Problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("duration -1 is outside [0, 86400]", error.Problems[1].Message, StringComparison.Ordinal);
        Assert.Contains("has 2 fields, the header has 3", error.Problems[2].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_JsonLinesTypeErrors_AreReported()
    {
        var error = await InvalidAsync("{\"video_id\":12,\"uri\":\"s3://bucket/1.mp4\"}\nnot json\n[1]\n{\"uri\":\"s3://bucket/2.mp4\"}\n", "m.jsonl");

        Assert.Equal(4, error.TotalProblems);
        Assert.Contains("'video_id' is a JSON number, not a string", error.Problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("is not valid JSON", error.Problems[1].Message, StringComparison.Ordinal);
        Assert.Contains("is not a JSON object", error.Problems[2].Message, StringComparison.Ordinal);
        Assert.Contains("has no 'video_id'", error.Problems[3].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_ManyProblems_MessageListsFirst20AndTheCount()
    {
        var builder = new StringBuilder("video_id,uri\n");
        for (var i = 0; i < 57; i++)
        {
            builder.Append($"bad/{i},s3://bucket/{i}.mp4\n");
        }

        var error = await InvalidAsync(builder.ToString(), "m.csv");

        Assert.Equal(57, error.TotalProblems);
        Assert.Contains("57 problems (first 20 listed)", error.Message, StringComparison.Ordinal);
        Assert.Contains("row 20 (video 'bad/19')", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("row 21 ", error.Message, StringComparison.Ordinal);
        Assert.Contains("... and 37 more.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_TemplateWithoutPlaceholder_IsRejectedNamingTheOption()
    {
        var error = Assert.Throws<ArgumentException>(() => new ManifestOptions { UriTemplate = "s3://bucket/videos/x.mp4" }.Validate());
        Assert.Contains("UriTemplate", error.Message, StringComparison.Ordinal);
        Assert.Contains("{video_id}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FormatOf_UnknownExtension_SaysWhichAreKnown()
    {
        var error = Assert.Throws<FormatException>(() => ManifestReader.FormatOf("corpus.txt"));
        Assert.Contains(".csv, .jsonl, .ndjson or .parquet", error.Message, StringComparison.Ordinal);
    }

    private static void RunDuckDb(string csv, string parquet)
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "VideoData.Storage.Tests", "Manifests", "write_manifest_duckdb.cjs");
        Assert.True(Directory.Exists(Path.Combine(RepoPaths.ToolsNodeModules, "@duckdb", "node-api")), "DuckDB for node is not installed; run infra/scripts/setup.sh --tests.");
        var start = new ProcessStartInfo("node") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { script, RepoPaths.ToolsNodeModules, csv, parquet })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"DuckDB writer failed ({process.ExitCode}): {stderr.Result}");
    }
}
