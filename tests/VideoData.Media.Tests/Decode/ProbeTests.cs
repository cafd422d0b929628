using VideoData.Core.Failures;
using VideoData.Media.Decode;
using VideoData.Testing;
using VideoData.Testing.Videos;

namespace VideoData.Media.Tests.Decode;

public sealed class ProbeTests
{
    [Theory]
    [InlineData(90, 240, 320)]
    [InlineData(180, 320, 240)]
    [InlineData(270, 240, 320)]
    public async Task Probe_RotatedClip_ReportsRotationAndDisplaySize(int degrees, int displayWidth, int displayHeight)
    {
        var video = TestVideoCatalog.Decodable.Single(v => v.FileName == $"rotate{degrees}.mp4");

        var probe = await VideoDecoder.ProbeAsync(TestVideos.Get(video));

        Assert.Equal(degrees, probe.Rotation);
        Assert.Equal((320, 240), (probe.Width, probe.Height));
        Assert.Equal((displayWidth, displayHeight), (probe.DisplayWidth, probe.DisplayHeight));
        Assert.Equal((displayWidth, displayHeight), FfmpegCli.DisplaySize(TestVideos.Get(video)));
    }

    [Fact]
    public async Task Probe_SharedFullRangeClip_ReportsStreamFacts()
    {
        var probe = await VideoDecoder.ProbeAsync(RepoPaths.RequireSharedTestData("videos", "bt709_full_range.mp4"));

        Assert.Equal("h264", probe.Codec);
        Assert.Equal("High", probe.Profile);
        Assert.Equal("yuvj420p", probe.PixelFormat);
        Assert.Equal((1280, 720), (probe.Width, probe.Height));
        Assert.Equal(30, probe.AverageFrameRate);
        Assert.Equal(30, probe.FrameCount);
        Assert.Equal(TimeSpan.FromSeconds(1), probe.Duration);
        Assert.StartsWith("mov,mp4", probe.Container, StringComparison.Ordinal);
        Assert.Empty(probe.AudioStreams);
        Assert.Equal(probe.NvdecSupported, probe.NvdecDetail == "yes");
    }

    [Fact]
    public async Task Probe_ClipWithAudio_ListsTheAudioStream()
    {
        var probe = await VideoDecoder.ProbeAsync(TestVideos.Get(TestVideoCatalog.VideoStartsLate));

        var audio = Assert.Single(probe.AudioStreams);
        Assert.Equal("aac", audio.Codec);
        Assert.Equal(44100, audio.SampleRate);
        Assert.Equal(1, audio.Channels);
        Assert.Null(probe.FrameCount);
    }

    [Fact]
    public async Task Decode_NonSeekableStream_FaststartMp4Decodes()
    {
        var path = TestVideos.Get(TestVideoCatalog.Faststart);
        await using var stream = new ForwardOnlyStream(File.ReadAllBytes(path));
        var frames = 0;

        await foreach (var chunk in VideoDecoder.DecodeAsync(stream, "pipe:faststart.mp4", new DecodeOptions()))
        {
            using (chunk)
            {
                frames += chunk.FrameCount;
            }
        }

        Assert.Equal(FfmpegCli.ReferenceFrames(path).Length / (224 * 224 * 3), frames);
    }

    [Fact]
    public async Task Decode_NonSeekableStream_MoovAtTheEndIsProbeFailure()
    {
        await using var stream = new ForwardOnlyStream(File.ReadAllBytes(TestVideos.Get(TestVideoCatalog.H264At30Fps)));

        var failure = await Assert.ThrowsAnyAsync<VideoDataException>(async () =>
        {
            await foreach (var chunk in VideoDecoder.DecodeAsync(stream, "pipe:moov-at-end.mp4", new DecodeOptions()))
            {
                chunk.Dispose();
            }
        });

        Assert.True(failure.FailureClass is FailureClass.Probe or FailureClass.Decode, failure.Message);
        Assert.Contains("pipe:moov-at-end.mp4", failure.Message, StringComparison.Ordinal);
    }

    /// <summary>A pipe-like stream: reads only, no seeking, no length.</summary>
    private sealed class ForwardOnlyStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes, writable: false);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
