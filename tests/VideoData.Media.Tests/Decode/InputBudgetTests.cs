using System.Text;
using VideoData.Core.Failures;
using VideoData.Core.Frames;
using VideoData.Media.Decode;
using VideoData.Testing.Videos;

namespace VideoData.Media.Tests.Decode;

/// <summary>
/// Per-video budgets against hostile inputs (issue 18): the output bounded by the container's real extent, a
/// wall-clock budget, the demuxer whitelist. Decodes stuck inside a call that never returns are in
/// <see cref="StuckDecodeTests"/>.
/// </summary>
public sealed class InputBudgetTests
{
    private static readonly DecodeOptions Options = new() { Decoder = DecoderPreference.Cpu, WatchdogTimeout = TimeSpan.FromSeconds(30) };

    [Fact(Timeout = 120_000)]
    public async Task Decode_FewKbFileWithFourHourTimestampJump_FailsBeforeEmittingTheGap()
    {
        var path = TestVideos.Get(TestVideoCatalog.TimestampJump);
        var probe = await VideoDecoder.ProbeAsync(path, Options);
        Assert.True(new FileInfo(path).Length < 64 * 1024, "the crafted file should be a few KB");
        Assert.True(probe.Duration > TimeSpan.FromHours(4) && probe.Duration < Options.MaxDuration, $"declared {probe.Duration}: within MaxDuration, so only the extent budget can stop it");

        var frames = 0L;
        var failure = await Assert.ThrowsAnyAsync<VideoDataException>(async () =>
        {
            await foreach (var chunk in VideoDecoder.DecodeAsync(path, Options))
            {
                frames += chunk.FrameCount;
                chunk.Dispose();
            }
        });

        Assert.Equal(FailureClass.Decode, failure.FailureClass);
        Assert.Contains("MinBytesPerSecond", failure.Message, StringComparison.Ordinal);
        Assert.Contains(path, failure.Message, StringComparison.Ordinal);

        // Bounded by the extent budget (60 s + one second per 64 bytes), not by the 4 hours the timestamps claim.
        var budgetFrames = (Options.ExtentAllowance.TotalSeconds + (new FileInfo(path).Length / (double)Options.MinBytesPerSecond)) * Options.Fps;
        Assert.InRange(frames, 0, (long)budgetFrames);
    }

    [Fact]
    public async Task Decode_LongStaticVideo_FitsTheExtentBudget()
    {
        // All black for 90 s: the cheapest real content per second (a few dozen bytes per frame), past the 60 s allowance.
        var path = TestVideos.Generate("black_90s.mp4", "-f", "lavfi", "-i", "color=c=black:s=64x64:r=30:d=90", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p");
        var options = Options with { Size = 16 };

        var frames = 0L;
        await foreach (var chunk in VideoDecoder.DecodeAsync(path, options))
        {
            frames += chunk.FrameCount;
            chunk.Dispose();
        }

        Assert.Equal(90 * 30, frames);
    }

    [Fact]
    public async Task Decode_ExtentBudgetTightened_RefusesANormalClipPastIt()
    {
        // The same rule at a smaller scale, so the check is seen to fire on an ordinary file: no allowance and a price
        // per second far above what the clip holds.
        var path = TestVideos.Get(TestVideoCatalog.H264At30Fps);
        var options = Options with { ExtentAllowance = TimeSpan.Zero, MinBytesPerSecond = 1_000_000 };

        var failure = await Assert.ThrowsAnyAsync<VideoDataException>(() => DrainAsync(VideoDecoder.DecodeAsync(path, options)));

        Assert.Equal(FailureClass.Decode, failure.FailureClass);
        Assert.Contains("MinBytesPerSecond", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Decode_ProgressingButSlowInput_StoppedByMaxDecodeTime()
    {
        // Every read makes progress (so the stall watchdog never fires), but the decode never ends within its budget.
        var bytes = File.ReadAllBytes(TestVideos.Get(TestVideoCatalog.Faststart));
        await using var stream = new SlowStream(bytes, chunk: 512, delay: TimeSpan.FromMilliseconds(20));
        var options = Options with { MaxDecodeTime = TimeSpan.FromMilliseconds(300) };

        var failure = await Assert.ThrowsAnyAsync<VideoDataException>(() => DrainAsync(VideoDecoder.DecodeAsync(stream, "slow.mp4", options)));

        Assert.Equal(FailureClass.Timeout, failure.FailureClass);
        Assert.Contains("MaxDecodeTime", failure.Message, StringComparison.Ordinal);
        Assert.Contains("slow.mp4", failure.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Decode_SlowConsumer_WaitingDoesNotCountAgainstMaxDecodeTime()
    {
        // Two one-second chunks, each held by the consumer longer than the whole budget: only working time counts.
        var path = TestVideos.Get(TestVideoCatalog.H264At25Fps);
        var options = Options with { MaxDecodeTime = TimeSpan.FromSeconds(4) };

        var chunks = 0;
        await foreach (var chunk in VideoDecoder.DecodeAsync(path, options))
        {
            chunk.Dispose();
            chunks++;
            await Task.Delay(TimeSpan.FromSeconds(2.5));
        }

        Assert.Equal(2, chunks);
    }

    public static TheoryData<string, string> RefusedInputs => new()
    {
        { "playlist.m3u8", "hls" },
        { "list.ffconcat", "concat" },
        { "frame.png", "png_pipe" },
        { "frames.y4m", "yuv4mpegpipe" },
        { "elementary.h264", "h264" },
        { "captions.srt", "srt" },
    };

    [Theory]
    [MemberData(nameof(RefusedInputs))]
    public async Task Decode_ContainerNotOnTheWhitelist_IsProbeFailureNamingTheFormat(string fileName, string format)
    {
        var path = RefusedInput(fileName);

        var failure = await Assert.ThrowsAnyAsync<VideoDataException>(() => DrainAsync(VideoDecoder.DecodeAsync(path, Options)));

        Assert.True(failure.FailureClass == FailureClass.Probe, failure.Message);
        Assert.Contains($"container format '{format}' is not accepted", failure.Message, StringComparison.Ordinal);
        Assert.Contains(path, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decode_FormatAddedToTheWhitelist_Decodes()
    {
        var path = RefusedInput("frames.y4m");

        var frames = await CountFramesAsync(path, Options with { FormatWhitelist = [.. DecodeOptions.DefaultFormatWhitelist, "yuv4mpegpipe"] });

        Assert.Equal(30, frames);
    }

    public static TheoryData<string, string> WhitelistedInputs => new()
    {
        { "clip.mp4", "libx264" },
        { "clip.mov", "libx264" },
        { "clip.mkv", "libx264" },
        { "clip.webm", "libvpx-vp9" },
        { "clip.avi", "mpeg4" },
        { "clip.flv", "flv" },
        { "clip.ts", "libx264" },
        { "clip.mpg", "mpeg2video" },
        { "clip.wmv", "wmv2" },
        { "clip.ogv", "libtheora" },
    };

    [Theory]
    [MemberData(nameof(WhitelistedInputs))]
    public async Task Decode_EveryWhitelistedContainer_Decodes(string fileName, string encoder)
    {
        var path = TestVideos.Generate($"whitelist_{fileName}", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=30:duration=1", "-c:v", encoder, "-pix_fmt", "yuv420p");

        var frames = await CountFramesAsync(path, Options with { Size = 32 });

        Assert.InRange(frames, 29, 31);
    }

    [Fact]
    public void Validate_BadWhitelistOrBudget_NamesTheOption()
    {
        var whitelist = Assert.Throws<ArgumentOutOfRangeException>(() => (Options with { FormatWhitelist = ["mp4", "../x"] }).Validate());
        Assert.Contains("DecodeOptions.FormatWhitelist", whitelist.Message, StringComparison.Ordinal);
        var budget = Assert.Throws<ArgumentOutOfRangeException>(() => (Options with { MinBytesPerSecond = 0 }).Validate());
        Assert.Contains("DecodeOptions.MinBytesPerSecond", budget.Message, StringComparison.Ordinal);
        var time = Assert.Throws<ArgumentOutOfRangeException>(() => (Options with { MaxDecodeTime = TimeSpan.Zero }).Validate());
        Assert.Contains("DecodeOptions.MaxDecodeTime", time.Message, StringComparison.Ordinal);
    }

    private static string RefusedInput(string fileName) => fileName switch
    {
        "playlist.m3u8" => TestVideos.WriteFile("refused_" + fileName, Encoding.ASCII.GetBytes("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")),
        "list.ffconcat" => TestVideos.WriteFile("refused_" + fileName, Encoding.ASCII.GetBytes("ffconcat version 1.0\nfile /etc/passwd\n")),
        "captions.srt" => TestVideos.WriteFile("refused_" + fileName, Encoding.ASCII.GetBytes("1\n00:00:01,000 --> 00:00:02,000\nhello\n\n")),
        "frame.png" => TestVideos.Generate("refused_frame.png", "-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1"),
        "frames.y4m" => TestVideos.Generate("refused_frames.y4m", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=30:duration=1", "-pix_fmt", "yuv420p"),
        "elementary.h264" => TestVideos.Generate("refused_elementary.h264", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=30:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p"),
        _ => throw new ArgumentOutOfRangeException(nameof(fileName), fileName, "no such refused input"),
    };

    private static async Task<long> CountFramesAsync(string path, DecodeOptions options)
    {
        var frames = 0L;
        await foreach (var chunk in VideoDecoder.DecodeAsync(path, options))
        {
            frames += chunk.FrameCount;
            chunk.Dispose();
        }

        return frames;
    }

    private static async Task DrainAsync(IAsyncEnumerable<FrameChunk> chunks)
    {
        await foreach (var chunk in chunks)
        {
            chunk.Dispose();
        }
    }

    /// <summary>A stream that hands out <paramref name="chunk"/> bytes per read after a delay: always progressing, never fast.</summary>
    private sealed class SlowStream(byte[] bytes, int chunk, TimeSpan delay) : MemoryStream(bytes, writable: false)
    {
        public override int Read(Span<byte> buffer)
        {
            Thread.Sleep(delay);
            return base.Read(buffer[..Math.Min(buffer.Length, chunk)]);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));
    }
}
