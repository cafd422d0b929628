using System.Diagnostics;
using System.Text.Json;
using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Testing;

namespace VideoData.Shards.Tests.FeatureShards;

public sealed class FeatureShardTests : IDisposable
{
    private static readonly ShardLineage s_lineage = new() { WeightsSha256 = new string('a', 64), Extra = new Dictionary<string, string> { ["videodata.source"] = "unit-test" } };
    private readonly string _dir = Directory.CreateTempSubdirectory("vd-shards-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static FeatureRecord MakeRecord(string id, int seconds, bool mixed, int captions, int seed) =>
        FeatureShardTestData.MakeRecord(id, seconds, mixed, captions, seed);

    private static IReadOnlyList<FeatureRecord> SampleRecords() =>
    [
        MakeRecord("vid-a", 3, mixed: true, captions: 4, seed: 1),
        MakeRecord("vid-b", 0, mixed: false, captions: 0, seed: 2),
        MakeRecord("vid-c", 5, mixed: false, captions: 1, seed: 3),
        MakeRecord("vid-d", 1, mixed: true, captions: 0, seed: 4),
        MakeRecord("vid-e", 2, mixed: false, captions: 7, seed: 5),
    ];

    private async Task<string> WriteAsync(IEnumerable<FeatureRecord> records, FeatureShardWriterOptions options, string name = "shard.parquet")
    {
        var path = Path.Combine(_dir, name);
        await using var writer = FeatureShardWriter.CreateFile(path, s_lineage, options);
        foreach (var r in records)
        {
            await writer.AddAsync(r);
        }

        await writer.CompleteAsync();
        return path;
    }

    private static void AssertRecordEqual(FeatureRecord expected, FeatureRecord actual)
    {
        Assert.Equal(expected.VideoId, actual.VideoId);
        Assert.Equal(expected.Duration, actual.Duration);
        Assert.Equal(expected.Seconds, actual.Seconds);
        Assert.Equal(expected.Dim, actual.Dim);
        Assert.Equal(expected.Features, actual.Features);
        Assert.Equal(expected.Mixed5cDim, actual.Mixed5cDim);
        Assert.Equal(expected.Mixed5c, actual.Mixed5c);
        Assert.Equal(expected.Captions, actual.Captions);
    }

    [Fact]
    public async Task WriteThenRead_Float32_RoundTripsEveryFieldAndMetadata()
    {
        var records = SampleRecords();
        var path = await WriteAsync(records, new FeatureShardWriterOptions { VideosPerRowGroup = 2, Storage = FeatureStorage.Float32 });

        await using var reader = await FeatureShardReader.OpenAsync(path);

        Assert.Equal(3, reader.RowGroupCount);
        Assert.Equal(records.Select(r => r.VideoId), reader.VideoIds);
        var all = new List<FeatureRecord>();
        await foreach (var r in reader.ReadAllAsync())
        {
            all.Add(r);
        }

        Assert.Equal(records.Count, all.Count);
        for (var i = 0; i < records.Count; i++)
        {
            AssertRecordEqual(records[i], all[i]);
        }

        Assert.Equal(new string('a', 64), reader.Metadata["videodata.weights_sha256"]);
        Assert.Equal("s3d-g", reader.Metadata["videodata.encoder"]);
        Assert.Equal("30", reader.Metadata["videodata.fps"]);
        Assert.Equal("224", reader.Metadata["videodata.frame_size"]);
        Assert.Equal("float32", reader.Metadata["videodata.feature_dtype"]);
        Assert.Equal("true", reader.Metadata["videodata.l2_normalized"]);
        Assert.Equal("unit-test", reader.Metadata["videodata.source"]);
        Assert.Equal(FeatureShardFormat.FormatVersion, reader.Metadata[FeatureShardFormat.FormatKey]);
    }

    [Fact]
    public async Task ReadVideo_ById_ReturnsThatVideoFromItsRowGroup()
    {
        var records = SampleRecords();
        var path = await WriteAsync(records, new FeatureShardWriterOptions { VideosPerRowGroup = 2, Storage = FeatureStorage.Float32 });
        await using var reader = await FeatureShardReader.OpenAsync(path);

        var e = await reader.ReadVideoAsync("vid-e");
        var b = await reader.ReadVideoAsync("vid-b");

        AssertRecordEqual(records[4], e);
        AssertRecordEqual(records[1], b);
        Assert.Empty(b.Features);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => reader.ReadVideoAsync("vid-zzz"));
    }

    [Fact]
    public async Task Write_DefaultStorage_RoundsFeaturesToFloat16Precision()
    {
        var record = MakeRecord("half", 2, mixed: true, captions: 1, seed: 9);
        var path = await WriteAsync([record], new FeatureShardWriterOptions());
        await using var reader = await FeatureShardReader.OpenAsync(path);

        var read = await reader.ReadVideoAsync("half");

        Assert.Equal(record.Features.Select(v => (float)(Half)v), read.Features);
        Assert.Equal(record.Mixed5c!.Select(v => (float)(Half)v), read.Mixed5c!);
        Assert.NotEqual(record.Features, read.Features);
        Assert.Equal("float16-rounded-float32", reader.Metadata["videodata.feature_dtype"]);
    }

    [Fact]
    public async Task Write_RowGroupByteBudget_ClosesGroupsEarly()
    {
        var records = Enumerable.Range(0, 4).Select(i => MakeRecord($"long-{i}", 600, mixed: false, captions: 0, seed: i)).ToList();
        var path = await WriteAsync(records, new FeatureShardWriterOptions { VideosPerRowGroup = 100, MaxRowGroupBytes = 2 * 1024 * 1024, Storage = FeatureStorage.Float32 });

        await using var reader = await FeatureShardReader.OpenAsync(path);

        // 600·512·4 bytes = 1.2 MB a video: the 2 MiB budget closes a group every two videos.
        Assert.Equal(2, reader.RowGroupCount);
        AssertRecordEqual(records[3], await reader.ReadVideoAsync("long-3"));
    }

    [Fact]
    public async Task Open_ShardWithoutIndexMetadata_BuildsTheIndexFromTheIdColumn()
    {
        // A shard written by another tool with the same layout but no videodata.index entry.
        var path = Path.Combine(_dir, "no-index.parquet");
        var records = SampleRecords();
        await using (var stream = File.Create(path))
        {
            var metadata = new Dictionary<string, string> { [FeatureShardFormat.FormatKey] = FeatureShardFormat.FormatVersion };
            for (var g = 0; g < 2; g++)
            {
                stream.Position = 0;
                var rows = records.Skip(g * 3).Take(3).Select(r => new ShardRow
                {
                    VideoId = r.VideoId,
                    Duration = r.Duration,
                    Seconds = r.Seconds,
                    Dim = r.Dim,
                    Features = r.Features,
                    Mixed5cDim = r.Mixed5cDim,
                    Mixed5c = r.Mixed5c ?? [],
                    Captions = r.Captions.Select(c => new ShardCaption { Start = c.Start, End = c.End, Text = c.Text, TokenIds = c.TokenIds }).ToList(),
                }).ToList();
                await Parquet.Serialization.ParquetSerializer.SerializeAsync(rows, stream, new Parquet.ParquetOptions { Append = g > 0 }, metadata);
            }
        }

        await using var reader = await FeatureShardReader.OpenAsync(path);

        Assert.False(reader.Metadata.ContainsKey(FeatureShardFormat.IndexKey));
        Assert.Equal(2, reader.RowGroupCount);
        Assert.Equal(records.Select(r => r.VideoId), reader.VideoIds);
        AssertRecordEqual(records[4], await reader.ReadVideoAsync("vid-e"));
    }

    [Fact]
    public async Task Write_NoVideos_GivesAReadableEmptyShard()
    {
        var path = await WriteAsync([], new FeatureShardWriterOptions());

        await using var reader = await FeatureShardReader.OpenAsync(path);

        Assert.Equal(0, reader.VideoCount);
    }

    [Fact]
    public async Task Add_DuplicateId_IsRefusedNamingIt()
    {
        await using var writer = FeatureShardWriter.CreateFile(Path.Combine(_dir, "dup.parquet"), s_lineage);
        await writer.AddAsync(MakeRecord("same", 1, false, 0, 1));

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => writer.AddAsync(MakeRecord("same", 1, false, 0, 2)).AsTask());

        Assert.Contains("'same'", ex.Message);
    }

    [Theory]
    [InlineData("features", float.NaN)]
    [InlineData("features", float.PositiveInfinity)]
    [InlineData("mixed_5c", float.NegativeInfinity)]
    public async Task Add_NonFiniteFeature_IsRefusedNamingTheVideoAndSecond_AndTheShardHoldsOnlyTheOthers(string column, float bad)
    {
        var path = Path.Combine(_dir, "nonfinite.parquet");
        var poisoned = MakeRecord("poisoned", 3, mixed: true, captions: 0, seed: 1);
        (column == "features" ? poisoned.Features : poisoned.Mixed5c!)[column == "features" ? (2 * 512) + 7 : 1024 + 3] = bad;
        await using (var writer = FeatureShardWriter.CreateFile(path, s_lineage, new FeatureShardWriterOptions { VideosPerRowGroup = 1 }))
        {
            await writer.AddAsync(MakeRecord("before", 1, mixed: true, captions: 0, seed: 2));

            var ex = await Assert.ThrowsAsync<ArgumentException>(() => writer.AddAsync(poisoned).AsTask());

            Assert.Contains("'poisoned'", ex.Message, StringComparison.Ordinal);
            Assert.Contains($"{column} value", ex.Message, StringComparison.Ordinal);
            Assert.Contains($"second {(column == "features" ? 2 : 1)}", ex.Message, StringComparison.Ordinal);
            await writer.AddAsync(MakeRecord("after", 2, mixed: true, captions: 0, seed: 3));
            await writer.CompleteAsync();
        }

        await using var reader = await FeatureShardReader.OpenAsync(path);
        Assert.Equal(["before", "after"], reader.VideoIds);
    }

    [Fact]
    public async Task Writer_DisposedWithoutComplete_LeavesNoFileBehind()
    {
        var path = Path.Combine(_dir, "abandoned.parquet");
        await using (var writer = FeatureShardWriter.CreateFile(path, s_lineage, new FeatureShardWriterOptions { VideosPerRowGroup = 1 }))
        {
            await writer.AddAsync(MakeRecord("x", 2, false, 0, 1));
            Assert.False(File.Exists(path));
        }

        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public async Task CreateBlob_PublishesThroughTheStoreAtomically()
    {
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { LocalRoot = _dir });
        var (store, key) = resolver.Resolve("shards/part-00000.parquet");
        var records = SampleRecords();
        await using (var writer = FeatureShardWriter.CreateBlob(store, key, s_lineage, new FeatureShardWriterOptions { Storage = FeatureStorage.Float32 }))
        {
            foreach (var r in records)
            {
                await writer.AddAsync(r);
            }

            Assert.False(await store.ExistsAsync(key));
            await writer.CompleteAsync();
        }

        await using var stream = await store.OpenReadAsync(key);
        await using var reader = await FeatureShardReader.OpenAsync(stream, store.UriOf(key));
        AssertRecordEqual(records[2], await reader.ReadVideoAsync("vid-c"));
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("garbage")]
    [InlineData("empty")]
    public async Task Open_DamagedShard_FailsNamingTheFile(string damage)
    {
        var path = await WriteAsync(SampleRecords(), new FeatureShardWriterOptions());
        var bytes = await File.ReadAllBytesAsync(path);
        var damaged = Path.Combine(_dir, $"damaged-{damage}.parquet");
        await File.WriteAllBytesAsync(damaged, damage switch
        {
            "truncated" => bytes[..(bytes.Length / 2)],
            "garbage" => [.. bytes[..100], .. Enumerable.Repeat((byte)0x5a, bytes.Length - 100)],
            _ => [],
        });

        var ex = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await using var reader = await FeatureShardReader.OpenAsync(damaged);
            await foreach (var _ in reader.ReadAllAsync())
            {
            }
        });

        Assert.Contains(damaged, ex.Message);
    }

    [Fact]
    public async Task ReadVideo_CorruptColumnChunk_FailsNamingTheFile()
    {
        var path = await WriteAsync([MakeRecord("only", 40, mixed: false, captions: 2, seed: 3)], new FeatureShardWriterOptions { Storage = FeatureStorage.Float32 });
        var bytes = await File.ReadAllBytesAsync(path);

        // Cut 16 KiB out of the middle (inside the feature column chunk) and keep the footer: the
        // footer's offsets now point at the wrong bytes, as after a bad partial copy.
        var cut = bytes.Length / 3;
        byte[] damagedBytes = [.. bytes[..cut], .. bytes[(cut + 16384)..]];
        var damaged = Path.Combine(_dir, "corrupt-data.parquet");
        await File.WriteAllBytesAsync(damaged, damagedBytes);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await using var reader = await FeatureShardReader.OpenAsync(damaged);
            await reader.ReadVideoAsync("only");
        });

        Assert.Contains(damaged, ex.Message);
    }

    [Fact]
    public async Task DuckDb_ReadsTheSameFeaturesCaptionsAndMetadata()
    {
        var records = SampleRecords();
        var path = await WriteAsync(records, new FeatureShardWriterOptions { VideosPerRowGroup = 2 });
        await using var reader = await FeatureShardReader.OpenAsync(path);
        var ours = new List<FeatureRecord>();
        await foreach (var r in reader.ReadAllAsync())
        {
            ours.Add(r);
        }

        using var json = JsonDocument.Parse(RunDuckDb(path));

        var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(ours.Count, rows.Count);
        for (var i = 0; i < ours.Count; i++)
        {
            var row = rows[i];
            var expected = ours[i];
            Assert.Equal(expected.VideoId, row.GetProperty("video_id").GetString());
            Assert.Equal(expected.Duration, row.GetProperty("duration").GetDouble());
            Assert.Equal(expected.Seconds, row.GetProperty("seconds").GetInt32());
            Assert.Equal(expected.Dim, row.GetProperty("dim").GetInt32());
            Assert.Equal(expected.Features, row.GetProperty("features").EnumerateArray().Select(v => (float)v.GetDouble()));
            Assert.Equal(expected.Mixed5c ?? [], row.GetProperty("mixed_5c").EnumerateArray().Select(v => (float)v.GetDouble()));
            var captions = row.GetProperty("captions").EnumerateArray()
                .Select(c => new CaptionSegment(
                    c.GetProperty("start").GetDouble(),
                    c.GetProperty("end").GetDouble(),
                    c.GetProperty("text").GetString()!,
                    c.GetProperty("token_ids").EnumerateArray().Select(t => t.GetInt32()).ToArray()))
                .ToList();
            Assert.Equal(expected.Captions, captions);
        }

        var metadata = json.RootElement.GetProperty("metadata");
        Assert.Equal(reader.Metadata["videodata.weights_sha256"], metadata.GetProperty("videodata.weights_sha256").GetString());
        Assert.Equal(reader.Metadata[FeatureShardFormat.IndexKey], metadata.GetProperty(FeatureShardFormat.IndexKey).GetString());
    }

    internal static string RunDuckDb(string shard) => FeatureShardTestData.RunDuckDb(shard);
}
