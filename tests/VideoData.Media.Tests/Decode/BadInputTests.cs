using System.Buffers.Binary;
using System.Text;
using VideoData.Core.Failures;
using VideoData.Media.Decode;
using VideoData.Testing.Videos;

namespace VideoData.Media.Tests.Decode;

/// <summary>Bad inputs fail with the right failure class and a message naming the input; none crash or hang.</summary>
public sealed class BadInputTests
{
    private static readonly DecodeOptions Options = new() { Decoder = DecoderPreference.Cpu, WatchdogTimeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Decode_ZeroBytes_IsProbeFailure()
    {
        var path = TestVideos.WriteFile("zero.mp4", []);
        await AssertFailsAsync(path, FailureClass.Probe);
    }

    [Fact]
    public async Task Decode_RandomBytes_IsProbeFailure()
    {
        var bytes = new byte[64 * 1024];
        new Random(1234).NextBytes(bytes);
        var path = TestVideos.WriteFile("random.bin", bytes);
        await AssertFailsAsync(path, FailureClass.Probe);
    }

    [Fact]
    public async Task Decode_AudioOnly_IsProbeFailureSayingThereIsOnlyAudio()
    {
        var path = TestVideos.Get(TestVideoCatalog.AudioOnly);
        var failure = await AssertFailsAsync(path, FailureClass.Probe);
        Assert.Contains("no decodable video stream", failure.Message, StringComparison.Ordinal);
        Assert.Contains("audio (aac)", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decode_Mp4HeaderOnly_IsDecodeFailure()
    {
        var source = File.ReadAllBytes(TestVideos.Get(TestVideoCatalog.Faststart));
        var (mdat, _) = FindBox(source, "mdat");
        var path = TestVideos.WriteFile("header_only.mp4", source.AsSpan(0, mdat + 8));
        var failure = await AssertFailsAsync(path, FailureClass.Decode);
        Assert.Contains("no frames could be decoded", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decode_Mp4WithHalfTheMdat_IsDecodeFailureSayingTruncated()
    {
        var source = File.ReadAllBytes(TestVideos.Get(TestVideoCatalog.Faststart));
        var (mdat, size) = FindBox(source, "mdat");
        var path = TestVideos.WriteFile("half_mdat.mp4", source.AsSpan(0, mdat + (size / 2)));
        var failure = await AssertFailsAsync(path, FailureClass.Decode);
        Assert.Contains("truncated", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decode_Mp4CutBeforeItsTrailingMoov_IsProbeFailure()
    {
        var source = File.ReadAllBytes(TestVideos.Get(TestVideoCatalog.H264At30Fps));
        var path = TestVideos.WriteFile("no_moov.mp4", source.AsSpan(0, source.Length / 2));
        await AssertFailsAsync(path, FailureClass.Probe);
    }

    [Fact]
    public async Task Decode_CorruptFrameInTheMiddle_ContinuesLikeFfmpegAndCountsErrors()
    {
        var source = File.ReadAllBytes(TestVideos.Get(TestVideoCatalog.Faststart));
        var (mdat, size) = FindBox(source, "mdat");
        var corrupt = (byte[])source.Clone();
        new Random(7).NextBytes(corrupt.AsSpan(mdat + (size / 2), 600));
        var path = TestVideos.WriteFile("corrupt_middle.mp4", corrupt);
        var statistics = new DecodeStatistics();

        var (frames, _) = await FrameComparison.DecodeAllAsync(path, Options, statistics);

        var expected = FfmpegCli.ReferenceFrames(path);
        Assert.Equal(expected.Length, frames.Length);
        Assert.True(statistics.DecodeErrors > 0, "the corrupt frame was not counted");
        Assert.NotNull(statistics.LastDecodeError);
    }

    [Fact]
    public async Task Decode_PlaylistPointingAtOtherFiles_DoesNotOpenThem()
    {
        // An HLS playlist whose segment is a real MPEG-TS video on this machine: FFmpeg must not
        // follow it (the ffmpeg CLI, which allows the file protocol, decodes it).
        var segment = TestVideos.Generate("segment.ts", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=1", "-c:v", "libx264", "-preset", "veryfast", "-f", "mpegts");
        var playlist = $"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{segment}\n#EXT-X-ENDLIST\n";
        var path = TestVideos.WriteFile("playlist.m3u8", Encoding.UTF8.GetBytes(playlist));

        var failure = await Assert.ThrowsAnyAsync<VideoDataException>(() => DrainAsync(VideoDecoder.DecodeAsync(path, Options)));

        Assert.Equal(FailureClass.Probe, failure.FailureClass);
        Assert.NotEmpty(FfmpegCli.Run("-i", path, "-vf", "scale=16:16", "-pix_fmt", "gray", "-f", "rawvideo", "-"));
    }

    [Fact]
    public async Task Decode_MissingFile_IsFetchFailure()
    {
        var path = Path.Combine(TestVideos.Folder, "does-not-exist.mp4");
        var failure = await AssertFailsAsync(path, FailureClass.Fetch);
        Assert.StartsWith(path, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decode_StreamThatThrows_IsFetchFailure()
    {
        var bytes = File.ReadAllBytes(TestVideos.Get(TestVideoCatalog.Faststart));
        await using var stream = new FaultyStream(bytes, failAfter: bytes.Length / 2, hang: false);

        var failure = await Assert.ThrowsAnyAsync<VideoDataException>(() => DrainAsync(VideoDecoder.DecodeAsync(stream, "s3://bucket/faulty.mp4", Options)));

        Assert.Equal(FailureClass.Fetch, failure.FailureClass);
        Assert.Contains("s3://bucket/faulty.mp4", failure.Message, StringComparison.Ordinal);
        Assert.Contains("connection reset", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Decode_StreamThatStalls_IsStoppedByTheWatchdog()
    {
        var bytes = File.ReadAllBytes(TestVideos.Get(TestVideoCatalog.Faststart));
        await using var stream = new FaultyStream(bytes, failAfter: bytes.Length / 2, hang: true);
        var options = Options with { WatchdogTimeout = TimeSpan.FromMilliseconds(300) };

        var failure = await Assert.ThrowsAnyAsync<VideoDataException>(() => DrainAsync(VideoDecoder.DecodeAsync(stream, "stalled.mp4", options)));

        Assert.Equal(FailureClass.Timeout, failure.FailureClass);
        Assert.Contains("stalled.mp4", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Probe_StreamThatStalls_IsStoppedByTheWatchdog()
    {
        var bytes = File.ReadAllBytes(TestVideos.Get(TestVideoCatalog.H264At30Fps));
        await using var stream = new FaultyStream(bytes, failAfter: 4096, hang: true);
        var options = Options with { WatchdogTimeout = TimeSpan.FromMilliseconds(300) };

        var failure = await Assert.ThrowsAnyAsync<VideoDataException>(() => VideoDecoder.ProbeAsync(stream, "stalled.mp4", options));

        Assert.Equal(FailureClass.Timeout, failure.FailureClass);
    }

    [Theory]
    [InlineData(100000, 100000)]
    [InlineData(20000, 10000)]
    public async Task Decode_ClaimedHugeFrameSize_IsRejectedBeforeDecoding(int width, int height)
    {
        // A YUV4MPEG2 header claiming a huge frame, followed by a few bytes. FFmpeg itself refuses
        // the first size; the second passes FFmpeg's own check and is stopped by MaxWidth.
        var header = Encoding.ASCII.GetBytes($"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\nFRAME\n");
        var path = TestVideos.WriteFile($"huge_{width}x{height}.y4m", [.. header, .. new byte[1024]]);
        var failure = await AssertFailsAsync(path, FailureClass.Probe, Options with { FormatWhitelist = ["yuv4mpegpipe"] });
        if (width * (long)height < 1_000_000_000)
        {
            Assert.Contains($"{width}×{height} pixels exceeds the limit of 8192×8192 (MaxWidth/MaxHeight)", failure.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Decode_ClaimedThousandHourDuration_IsRejectedBeforeDecoding()
    {
        var bytes = File.ReadAllBytes(TestVideos.Get(TestVideoCatalog.Faststart));
        foreach (var box in (string[])["mvhd", "mdhd"])
        {
            // Version-0 header boxes: the 32-bit timescale and duration follow size, type, flags, creation and modification time.
            var (offset, _) = FindBox(bytes, box);
            var timescale = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset + 20));
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(offset + 24), (uint)Math.Min(uint.MaxValue, timescale * 3600L * 1000));
        }

        var path = TestVideos.WriteFile("thousand_hours.mp4", bytes);
        var failure = await AssertFailsAsync(path, FailureClass.Probe);
        Assert.Contains("MaxDuration", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decode_FrameLargerThanOptionAllows_IsProbeFailure()
    {
        var path = TestVideos.Get(TestVideoCatalog.H264At30Fps);
        var failure = await Assert.ThrowsAnyAsync<VideoDataException>(() => DrainAsync(VideoDecoder.DecodeAsync(path, Options with { MaxWidth = 100 })));
        Assert.Equal(FailureClass.Probe, failure.FailureClass);
    }

    [Fact]
    public void Decode_InvalidOption_ThrowsNamingTheOption()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => VideoDecoder.DecodeAsync("x.mp4", new DecodeOptions { Fps = 0 }));
        Assert.Contains("DecodeOptions.Fps", error.Message, StringComparison.Ordinal);
    }

    private static async Task<VideoDataException> AssertFailsAsync(string path, FailureClass expected, DecodeOptions? options = null)
    {
        var failure = await Assert.ThrowsAnyAsync<VideoDataException>(() => DrainAsync(VideoDecoder.DecodeAsync(path, options ?? Options)));
        Assert.True(expected == failure.FailureClass, $"expected {expected.ToName()}, got {failure.FailureClass.ToName()}: {failure.Message}");
        Assert.Contains(path, failure.Message, StringComparison.Ordinal);
        return failure;
    }

    private static async Task DrainAsync(IAsyncEnumerable<Core.Frames.FrameChunk> chunks)
    {
        await foreach (var chunk in chunks)
        {
            chunk.Dispose();
        }
    }

    /// <summary>Finds a top-level or nested ISO BMFF box by type; returns its offset and size.</summary>
    private static (int Offset, int Size) FindBox(byte[] file, string type)
    {
        var name = Encoding.ASCII.GetBytes(type);
        var at = file.AsSpan().IndexOf(name);
        Assert.True(at >= 4, $"no {type} box");
        return (at - 4, (int)BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at - 4)));
    }

    /// <summary>A non-seekable-looking network stream stand-in that fails or stalls after some bytes.</summary>
    private sealed class FaultyStream(byte[] bytes, int failAfter, bool hang) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => bytes.Length;

        public override long Position { get => _position; set => _position = value; }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= failAfter)
            {
                if (hang)
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                throw new IOException("connection reset by peer");
            }

            var count = (int)Math.Min(buffer.Length, Math.Min(failAfter, bytes.Length) - _position);
            bytes.AsMemory((int)_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override long Seek(long offset, SeekOrigin origin) => _position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => bytes.Length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
