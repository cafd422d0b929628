using System.Text;
using VideoData.Storage.Manifests;

namespace VideoData.Storage.Tests.Manifests;

/// <summary>Runs alone: <see cref="ManifestBoundsTests"/> measures the bytes the process allocates while reading.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ManifestMemoryCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Manifest memory";
}

/// <summary>RFC 4180 semantics of the CSV reader and the line and field caps of CSV and JSON Lines manifests (issue 18).</summary>
[Collection(ManifestMemoryCollection.Name)]
public sealed class ManifestBoundsTests
{
    private static readonly ManifestOptions Small = new() { MaxLineLength = 1024, MaxFieldLength = 256 };

    [Fact]
    public async Task CsvRecordReader_BareCrInsideQuotes_IsKept()
    {
        var records = await ReadRecordsAsync("a,\"x\ry\"\r\nb,\"line\r\nbreak\"\n");

        Assert.Equal(["a", "x\ry"], records[0]);
        Assert.Equal(["b", "line\r\nbreak"], records[1]);
    }

    [Fact]
    public async Task CsvRecordReader_EscapedQuotesAndEmptyFields_FollowRfc4180()
    {
        var records = await ReadRecordsAsync("\"say \"\"hi\"\"\",,\"\"\n");

        Assert.Equal(["say \"hi\"", "", ""], records[0]);
    }

    [Theory]
    [InlineData("video_id,uri\nv1,s3://bucket/1.mp4\n\"v2\"x,s3://bucket/2.mp4\n", 2)]
    [InlineData("video_id,uri\nv1,s3://bucket/1.mp4\nv2,s3://bucket/2.mp4\nv3,\"s3://bucket/3.mp4\n", 3)]
    public async Task ReadAsync_MalformedCsv_IsRefusedNamingTheRow(string csv, long row)
    {
        var error = await Assert.ThrowsAsync<ManifestException>(() => ReadAsync(Encoding.UTF8.GetBytes(csv), "m.csv", new ManifestOptions()));

        var problem = Assert.Single(error.Problems);
        Assert.Equal(row, problem.Row);
        Assert.Contains("is not valid CSV", problem.Message, StringComparison.Ordinal);
        Assert.Contains($"row {row}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_CsvFieldOverTheCap_NamesRowAndFieldAndReadsOn()
    {
        var csv = $"video_id,uri,notes\nv1,s3://bucket/1.mp4,{new string('n', 300)}\nbad/2,s3://bucket/2.mp4,ok\n";

        var error = await Assert.ThrowsAsync<ManifestException>(() => ReadAsync(Encoding.UTF8.GetBytes(csv), "m.csv", Small));

        Assert.Equal(2, error.TotalProblems);
        Assert.Equal(1, error.Problems[0].Row);
        Assert.Contains("field 'notes' is longer than 256 characters (ManifestOptions.MaxFieldLength)", error.Problems[0].Message, StringComparison.Ordinal);
        Assert.Equal(2, error.Problems[1].Row);
    }

    [Fact(Timeout = 60_000)]
    public async Task ReadAsync_CsvLineThatNeverEnds_RefusedAtTheCapWithBoundedMemory()
    {
        // An endless quoted field: without a cap the reader would buffer until memory runs out.
        await using var stream = new GeneratedStream("video_id,uri\nv1,s3://bucket/1.mp4\nv2,\""u8.ToArray(), (byte)'x', long.MaxValue);
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var error = await Assert.ThrowsAsync<ManifestException>(() => ManifestReader.ReadAsync(stream, "endless.csv", Small));

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        var problem = Assert.Single(error.Problems);
        Assert.Equal(2, problem.Row);
        Assert.Contains("longer than 1024 characters (ManifestOptions.MaxLineLength)", problem.Message, StringComparison.Ordinal);
        Assert.True(allocated < 8 << 20, $"allocated {allocated} bytes");
    }

    [Fact(Timeout = 60_000)]
    public async Task ReadAsync_JsonLinesLineOf64MB_RefusedNamingTheRowWithBoundedMemoryAndReadsOn()
    {
        const long lineBytes = 64L << 20;
        var head = "{\"video_id\":\"v1\",\"uri\":\"s3://bucket/1.mp4\"}\n{\"video_id\":\"v2\",\"uri\":\""u8.ToArray();
        var tail = "\"}\n{\"video_id\":\"bad/3\",\"uri\":\"s3://bucket/3.mp4\"}\n"u8.ToArray();
        await using var stream = new GeneratedStream(head, (byte)'x', lineBytes, tail);
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var error = await Assert.ThrowsAsync<ManifestException>(() => ManifestReader.ReadAsync(stream, "m.jsonl", Small));

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(2, error.TotalProblems);
        Assert.Equal(2, error.Problems[0].Row);
        Assert.Contains("the line is longer than 1024 characters (ManifestOptions.MaxLineLength)", error.Problems[0].Message, StringComparison.Ordinal);
        Assert.Equal(3, error.Problems[1].Row);
        Assert.True(allocated < lineBytes / 8, $"allocated {allocated} bytes for a {lineBytes}-byte line");
    }

    [Fact]
    public async Task ReadAsync_JsonLinesFieldOverTheCap_NamesRowAndField()
    {
        var jsonl = $"{{\"video_id\":\"v1\",\"uri\":\"s3://bucket/{new string('u', 300)}.mp4\"}}\n";

        var error = await Assert.ThrowsAsync<ManifestException>(() => ReadAsync(Encoding.UTF8.GetBytes(jsonl), "m.jsonl", Small));

        var problem = Assert.Single(error.Problems);
        Assert.Equal(1, problem.Row);
        Assert.Contains("field 'uri' is longer than 256 characters", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_CsvAndJsonLinesUnderTheCaps_StillRead()
    {
        var csv = await ReadAsync("video_id,uri\r\nv1,s3://bucket/1.mp4\r\n"u8.ToArray(), "m.csv", Small);
        var jsonl = await ReadAsync("{\"video_id\":\"v1\",\"uri\":\"s3://bucket/1.mp4\"}\r\n"u8.ToArray(), "m.jsonl", Small);

        Assert.Equal("s3://bucket/1.mp4", Assert.Single(csv).Uri);
        Assert.Equal("s3://bucket/1.mp4", Assert.Single(jsonl).Uri);
    }

    [Theory]
    [InlineData(100, 64, "MaxLineLength")]
    [InlineData(1024, 2048, "MaxFieldLength")]
    public void Options_BadCaps_NameTheOption(int line, int field, string option)
    {
        var error = Assert.Throws<ArgumentException>(() => new ManifestOptions { MaxLineLength = line, MaxFieldLength = field }.Validate());

        Assert.Contains(option, error.Message, StringComparison.Ordinal);
    }

    private static Task<IReadOnlyList<ManifestEntry>> ReadAsync(byte[] bytes, string name, ManifestOptions options) =>
        ManifestReader.ReadAsync(new MemoryStream(bytes), name, options);

    private static async Task<List<List<string?>>> ReadRecordsAsync(string text)
    {
        var csv = await CsvRecordReader.CreateAsync(new StringReader(text), 1024, CancellationToken.None);
        await using (csv)
        {
            var records = new List<List<string?>>();
            while (await csv.ReadRecordAsync(1024, CancellationToken.None) is { } record)
            {
                records.Add(record);
            }

            return records;
        }
    }

    /// <summary><paramref name="head"/>, then <paramref name="count"/> copies of <paramref name="filler"/>, then <paramref name="tail"/>; nothing held in memory.</summary>
    private sealed class GeneratedStream(byte[] head, byte filler, long count, byte[]? tail = null) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var written = 0;
            while (written < buffer.Length)
            {
                var fillerEnd = head.Length + count;
                if (_position < head.Length)
                {
                    var n = (int)Math.Min(buffer.Length - written, head.Length - _position);
                    head.AsSpan((int)_position, n).CopyTo(buffer[written..]);
                    written += n;
                    _position += n;
                }
                else if (_position < fillerEnd || fillerEnd < 0)
                {
                    var n = (int)Math.Min(buffer.Length - written, fillerEnd < 0 ? int.MaxValue : fillerEnd - _position);
                    buffer.Slice(written, n).Fill(filler);
                    written += n;
                    _position += n;
                }
                else
                {
                    var at = _position - fillerEnd;
                    if (tail is null || at >= tail.Length)
                    {
                        break;
                    }

                    var n = (int)Math.Min(buffer.Length - written, tail.Length - at);
                    tail.AsSpan((int)at, n).CopyTo(buffer[written..]);
                    written += n;
                    _position += n;
                }
            }

            return written;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
