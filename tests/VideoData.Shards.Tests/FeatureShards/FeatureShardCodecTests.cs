using Parquet;
using VideoData.Shards;

namespace VideoData.Shards.Tests.FeatureShards;

/// <summary>
/// The feature columns' page decoding: shards the writer makes now (uncompressed), shards made before (Snappy, now read by the general reader), and
/// codecs only Parquet.Net's general reader handles must all read back the same records; a column whose lists
/// contradict the rows' seconds·dim is refused.
/// </summary>
public sealed class FeatureShardCodecTests : IDisposable
{
    private static readonly ShardLineage s_lineage = new() { WeightsSha256 = new string('b', 64) };
    private readonly string _dir = Directory.CreateTempSubdirectory("vd-shard-codec-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<FeatureRecord> Records() =>
    [
        FeatureShardTests.MakeRecord("long-a", 300, mixed: true, captions: 6, seed: 11),
        FeatureShardTests.MakeRecord("empty", 0, mixed: false, captions: 0, seed: 12),
        FeatureShardTests.MakeRecord("short", 1, mixed: false, captions: 2, seed: 13),
        FeatureShardTests.MakeRecord("empty-2", 0, mixed: false, captions: 1, seed: 14),
        FeatureShardTests.MakeRecord("long-b", 257, mixed: false, captions: 3, seed: 15),
        FeatureShardTests.MakeRecord("mid", 33, mixed: true, captions: 0, seed: 16),
        FeatureShardTests.MakeRecord("last", 2, mixed: false, captions: 9, seed: 17),
    ];

    private async Task<string> WriteAsync(IEnumerable<FeatureRecord> records, CompressionMethod? compression, int perGroup)
    {
        var path = Path.Combine(_dir, $"{compression?.ToString() ?? "default"}-{perGroup}.parquet");
        var options = new FeatureShardWriterOptions { VideosPerRowGroup = perGroup, Storage = FeatureStorage.Float32 };
        if (compression is { } codec)
        {
            options.Compression = codec;
        }

        await using var writer = FeatureShardWriter.CreateFile(path, s_lineage, options);
        foreach (var record in records)
        {
            await writer.AddAsync(record);
        }

        await writer.CompleteAsync();
        return path;
    }

    [Theory]
    [InlineData(null, 3)]
    [InlineData(null, 16)]
    [InlineData(CompressionMethod.None, 1)]
    [InlineData(CompressionMethod.Snappy, 3)]
    [InlineData(CompressionMethod.Snappy, 16)]
    [InlineData(CompressionMethod.Gzip, 3)]
    [InlineData(CompressionMethod.Zstd, 4)]
    public async Task EveryCodec_ReadsBackEveryVideoExactly(CompressionMethod? compression, int perGroup)
    {
        var records = Records();
        var path = await WriteAsync(records, compression, perGroup);

        await using var reader = await FeatureShardReader.OpenAsync(path);
        var read = new List<FeatureRecord>();
        await foreach (var record in reader.ReadAllAsync())
        {
            read.Add(record);
        }

        Assert.Equal(records.Count, read.Count);
        for (var i = 0; i < records.Count; i++)
        {
            Assert.Equal(records[i].VideoId, read[i].VideoId);
            Assert.Equal(records[i].Seconds, read[i].Seconds);
            Assert.Equal(records[i].Features, read[i].Features);
            Assert.Equal(records[i].Mixed5c, read[i].Mixed5c);
            Assert.Equal(records[i].Captions, read[i].Captions);
        }

        // Single-video reads land on the right row of their group.
        Assert.Equal(records[4].Features, (await reader.ReadVideoAsync("long-b")).Features);
        Assert.Empty((await reader.ReadVideoAsync("empty-2")).Features);
    }

    [Fact]
    public async Task Writer_Default_WritesUncompressedPlainFeatureColumns()
    {
        var path = await WriteAsync(Records(), compression: null, perGroup: 4);

        await using var stream = File.OpenRead(path);
        await using var parquet = await ParquetReader.CreateAsync(stream);
        var features = parquet.Schema.GetDataFields().Single(f => f.Path.ToString() == "features/list/element");
        using var group = parquet.OpenRowGroupReader(0);
        var meta = group.GetMetadata(features)!.MetaData!;

        Assert.Equal(Parquet.Meta.CompressionCodec.UNCOMPRESSED, meta.Codec);
        Assert.Equal(meta.TotalUncompressedSize, meta.TotalCompressedSize);
        Assert.Contains(Parquet.Meta.Encoding.PLAIN, meta.Encodings);
    }

    [Fact]
    public async Task ReadVideo_UncompressedShard_ReadsThatVideosValuesNotItsRowGroups()
    {
        // 16 one-minute videos in one row group: 123 KB of features each, about 2 MB together.
        var records = Enumerable.Range(0, 16).Select(i => FeatureShardTests.MakeRecord($"v{i:D2}", 60, mixed: false, captions: 3, seed: i)).ToList();
        var path = await WriteAsync(records, compression: null, perGroup: 16);
        var groupBytes = records.Sum(r => r.Features.Length * 4L);

        await using var counting = new CountingStream(File.OpenRead(path));
        await using var reader = await FeatureShardReader.OpenAsync(counting, path);
        var footer = counting.BytesRead;
        var read = await reader.ReadVideoAsync("v07");

        Assert.Equal(records[7].Features, read.Features);
        Assert.Equal(records[7].Captions, read.Captions);
        var fetched = counting.BytesRead - footer;
        Assert.True(fetched >= records[7].Features.Length * 4L, $"read {fetched} bytes");
        Assert.True(fetched < groupBytes / 4, $"read {fetched} bytes of a {groupBytes}-byte row group for one of its 16 videos");
    }

    [Theory]
    [InlineData(CompressionMethod.None, true)]
    [InlineData(CompressionMethod.Snappy, false)]
    [InlineData(CompressionMethod.Gzip, false)]
    public async Task PageDecoder_TakesTheShardsOwnLayoutsAndLeavesOthersToTheGeneralReader(CompressionMethod compression, bool handled)
    {
        var records = Records();
        var path = await WriteAsync(records, compression, perGroup: 8);

        await using var stream = File.OpenRead(path);
        await using var parquet = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true);
        var field = parquet.Schema.GetDataFields().Single(f => f.Path.ToString() == "features/list/element");
        using var group = parquet.OpenRowGroupReader(0);
        var lengths = records.Select(r => r.Seconds * r.Dim).ToArray();

        var rows = await FloatListChunkReader.TryReadAsync(stream, group.GetMetadata(field)!.MetaData!, field, lengths, CancellationToken.None);

        Assert.Equal(handled, rows is not null);
        if (rows is not null)
        {
            Assert.Equal(records.Select(r => r.Features), rows);
        }

        // Lengths that disagree with the column (one second moved from one video to another) are refused.
        lengths[0] -= 512;
        lengths[4] += 512;
        if (handled)
        {
            await Assert.ThrowsAsync<InvalidDataException>(() => FloatListChunkReader.TryReadAsync(stream, group.GetMetadata(field)!.MetaData!, field, lengths, CancellationToken.None));
        }
    }

    [Theory]
    [InlineData(CompressionMethod.None)]
    [InlineData(CompressionMethod.Snappy)]
    public async Task ListLengthContradictingSeconds_IsRefusedNamingTheShard(CompressionMethod compression)
    {
        // A row claiming 3 seconds with 2 seconds of values (another tool's mistake, or a damaged row).
        var path = Path.Combine(_dir, $"inconsistent-{compression}.parquet");
        var good = FeatureShardTests.MakeRecord("good", 2, mixed: false, captions: 1, seed: 1);
        var bad = FeatureShardTests.MakeRecord("bad", 2, mixed: false, captions: 1, seed: 2);
        var rows = new[] { good, bad }.Select(r => new ShardRow
        {
            VideoId = r.VideoId,
            Duration = r.Duration,
            Seconds = r.VideoId == "bad" ? 3 : r.Seconds,
            Dim = r.Dim,
            Features = r.Features,
            Captions = r.Captions.Select(c => new ShardCaption { Start = c.Start, End = c.End, Text = c.Text, TokenIds = c.TokenIds }).ToList(),
        }).ToList();
        var metadata = new Dictionary<string, string> { [FeatureShardFormat.FormatKey] = FeatureShardFormat.FormatVersion };
        await using (var stream = File.Create(path))
        {
            await Parquet.Serialization.ParquetSerializer.SerializeAsync(rows, stream, new ParquetOptions { CompressionMethod = compression }, metadata);
        }

        await using var reader = await FeatureShardReader.OpenAsync(path);
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => reader.ReadVideoAsync("good"));

        Assert.Contains(path, ex.Message);
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => inner.Position = value; }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private int Count(int n)
        {
            BytesRead += n;
            return n;
        }
    }
}
