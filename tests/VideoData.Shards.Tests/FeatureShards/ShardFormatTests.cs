using Parquet;
using Parquet.Serialization;
using VideoData.Shards;

namespace VideoData.Shards.Tests.FeatureShards;

/// <summary>
/// The pieces every reader of the shard format shares: one index parser (the reader, the assembler and training refuse a
/// bad index alike), one shard-listing rule, one caption segment type, and the general column reader giving the same
/// records as the page reader it is measured against.
/// </summary>
public sealed class ShardFormatTests : IDisposable
{
    private static readonly ShardLineage s_lineage = new() { WeightsSha256 = new string('c', 64) };
    private readonly string _dir = Directory.CreateTempSubdirectory("vd-shard-format-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A one-row-group shard written by Parquet.Net with the format key and the given index text.</summary>
    private async Task<string> WriteWithIndexAsync(string name, string index)
    {
        var path = Path.Combine(_dir, name);
        var record = FeatureShardTests.MakeRecord("only", 2, mixed: false, captions: 1, seed: 5);
        var rows = new List<ShardRow>
        {
            new()
            {
                VideoId = record.VideoId,
                Duration = record.Duration,
                Seconds = record.Seconds,
                Dim = record.Dim,
                Features = record.Features,
                Captions = record.Captions.Select(c => new ShardCaption { Start = c.Start, End = c.End, Text = c.Text, TokenIds = c.TokenIds }).ToList(),
            },
        };
        var metadata = new Dictionary<string, string>
        {
            [FeatureShardFormat.FormatKey] = FeatureShardFormat.FormatVersion,
            [FeatureShardFormat.IndexKey] = index,
        };
        await using var stream = File.Create(path);
        await ParquetSerializer.SerializeAsync(rows, stream, new ParquetOptions { CompressionMethod = CompressionMethod.None }, metadata);
        return path;
    }

    [Theory]
    [InlineData("{not json", "unreadable video index")]
    [InlineData("{\"only\": 3}", "row group 3 of 1")]
    public async Task Assemble_SourceWithBadIndex_IsRefusedNamingTheSource(string index, string expected)
    {
        var path = await WriteWithIndexAsync("bad-index.parquet", index);
        await using var source = File.OpenRead(path);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() =>
            FeatureShardAssembler.AssembleAsync([new AssemblySource(path, source)], [(0, "only")], Stream.Null));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json", "unreadable video index")]
    [InlineData("{\"only\": 3}", "row group 3 of 1")]
    public async Task Open_ShardWithBadIndex_IsRefusedNamingTheShard(string index, string expected)
    {
        var path = await WriteWithIndexAsync("bad-index.parquet", index);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => FeatureShardReader.OpenAsync(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RowGroupOf_WriterShard_AnswersTheIndexAndRefusesAnUnknownVideo()
    {
        var path = Path.Combine(_dir, "indexed.parquet");
        await using (var writer = FeatureShardWriter.CreateFile(path, s_lineage, new FeatureShardWriterOptions { VideosPerRowGroup = 2 }))
        {
            for (var i = 0; i < 5; i++)
            {
                await writer.AddAsync(FeatureShardTests.MakeRecord($"v{i}", 1, mixed: false, captions: 1, seed: i));
            }

            await writer.CompleteAsync();
        }

        await using var reader = await FeatureShardReader.OpenAsync(path);

        Assert.True(reader.HasIndex);
        Assert.Equal(["v0", "v1", "v2", "v3", "v4"], reader.VideoIds);
        Assert.Equal([0, 0, 1, 1, 2], reader.VideoIds.Select(reader.RowGroupOf));
        var error = Assert.Throws<KeyNotFoundException>(() => reader.RowGroupOf("v9"));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAll_GeneralReaderAndPageReader_GiveTheSameRecords()
    {
        var path = Path.Combine(_dir, "both.parquet");
        var records = new[]
        {
            FeatureShardTests.MakeRecord("a", 40, mixed: true, captions: 3, seed: 1),
            FeatureShardTests.MakeRecord("b", 0, mixed: false, captions: 0, seed: 2),
            FeatureShardTests.MakeRecord("c", 7, mixed: false, captions: 2, seed: 3),
        };
        await using (var writer = FeatureShardWriter.CreateFile(path, s_lineage, new FeatureShardWriterOptions { VideosPerRowGroup = 2 }))
        {
            foreach (var record in records)
            {
                await writer.AddAsync(record);
            }

            await writer.CompleteAsync();
        }

        async Task<List<FeatureRecord>> ReadAsync(bool fast)
        {
            await using var reader = await FeatureShardReader.OpenAsync(path, new FeatureShardReaderOptions { FastFloatLists = fast });
            return await reader.ReadAllAsync().ToListAsync();
        }

        var general = await ReadAsync(fast: false);
        var paged = await ReadAsync(fast: true);

        Assert.Equal(3, general.Count);
        Assert.Equal(general.Select(r => (r.VideoId, r.Features, r.Mixed5c, r.Captions.ToArray())), paged.Select(r => (r.VideoId, r.Features, r.Mixed5c, r.Captions.ToArray())));
        Assert.Equal(records.Select(r => r.Captions.ToArray()), paged.Select(r => r.Captions.ToArray()));
    }

    [Theory]
    [InlineData("shards/shard-00000.parquet", true)]
    [InlineData("shard-00001.parquet", true)]
    [InlineData("shards/.shard-00000.parquet.tmp", false)]
    [InlineData("shards/.hidden.parquet", false)]
    [InlineData("shards/notes.txt", false)]
    [InlineData("shards.parquet/readme", false)]
    public void IsShardKey_ParquetNamesNotStartingWithADot(string key, bool expected) =>
        Assert.Equal(expected, FeatureShardFormat.IsShardKey(key));

    [Fact]
    public void CaptionSegment_ComparesTokenIdsByValue_AndTheTextlessFormHasEmptyText()
    {
        var written = new CaptionSegment(1.5, 3, "open the lid", [101, 202]);
        var read = new CaptionSegment(1.5, 3, "open the lid", [101, 202]);
        var textless = new CaptionSegment(1.5, 3, [101, 202]);

        Assert.Equal(written, read);
        Assert.Equal(written.GetHashCode(), read.GetHashCode());
        Assert.NotEqual(written, read with { TokenIds = [101, 203] });
        Assert.Equal(string.Empty, textless.Text);
        Assert.Equal(written with { Text = string.Empty }, textless);
    }
}
