using VideoData.Media.Decode;
using VideoData.Testing;
using VideoData.Testing.Videos;

namespace VideoData.Media.Tests.Decode;

/// <summary>
/// Frame-exact agreement with the reference command
/// <c>ffmpeg -i X -vf fps=30,scale=W:H,crop=224:224 -pix_fmt rgb24 -f rawvideo</c> (DESIGN §3):
/// the same number of frames and every frame ≥ 40 dB PSNR.
/// </summary>
public sealed class DecodeParityTests
{
    public static TheoryData<string> SharedClips => new() { "av1_video.mkv", "bt709_full_range.mp4", "h265_video.mp4" };

    public static TheoryData<string> GeneratedClips
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var video in TestVideoCatalog.Decodable)
            {
                data.Add(video.FileName);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(SharedClips))]
    public async Task Decode_SharedClip_MatchesFfmpegCli(string fileName)
    {
        var path = RepoPaths.RequireSharedTestData("videos", fileName);
        await AssertParityAsync(path, new DecodeOptions { Decoder = DecoderPreference.Cpu });
    }

    [Theory]
    [MemberData(nameof(GeneratedClips))]
    public async Task Decode_GeneratedClip_MatchesFfmpegCli(string fileName)
    {
        var path = TestVideos.Get(TestVideoCatalog.Decodable.Single(v => v.FileName == fileName));
        await AssertParityAsync(path, new DecodeOptions { Decoder = DecoderPreference.Cpu });
    }

    [Fact]
    public async Task Decode_OtherFpsAndSize_MatchesFfmpegCliWithTheSameSettings()
    {
        var path = TestVideos.Get(TestVideoCatalog.H264At25Fps);
        await AssertParityAsync(path, new DecodeOptions { Fps = 8, Size = 112, Decoder = DecoderPreference.Cpu, Threads = 1 });
    }

    [Fact]
    public async Task Decode_Chunks_AreWholeSecondsInOrderWithGridStartTimes()
    {
        var path = TestVideos.Get(TestVideoCatalog.VideoStartsLate);
        var (frames, chunks) = await FrameComparison.DecodeAllAsync(path, new DecodeOptions());

        Assert.Equal(Enumerable.Range(0, chunks.Count), chunks.Select(c => c.Second));
        Assert.All(chunks.SkipLast(1), c => Assert.Equal(30, c.Count));
        Assert.InRange(chunks[^1].Count, 1, 30);
        Assert.Equal(frames.Length, chunks.Sum(c => c.Count) * 224 * 224 * 3);

        // Output frame n shows time n/30 of the file: chunk k starts at k seconds. The video starts
        // 0.37 s (muxed: 0.383 s) after the audio, so, as the CLI does, the first frame fills ticks
        // 0–10 before its own tick round(0.383·30) = 11, and tick 12 (the next frame is at 0.423 s,
        // tick round(12.69) = 13): 13 copies in all.
        Assert.Equal(chunks.Select(c => TimeSpan.FromSeconds(c.Second)), chunks.Select(c => c.Start));
        const int FrameBytes = 224 * 224 * 3;
        for (var i = 1; i < 13; i++)
        {
            Assert.True(frames.AsSpan(0, FrameBytes).SequenceEqual(frames.AsSpan(i * FrameBytes, FrameBytes)), $"frame {i} is not a repeat of frame 0");
        }

        Assert.False(frames.AsSpan(0, FrameBytes).SequenceEqual(frames.AsSpan(13 * FrameBytes, FrameBytes)), "frame 13 should show the second video frame");
    }

    [Fact]
    public async Task Decode_SlowConsumer_DecoderDoesNotRunAhead()
    {
        // Memory is bounded by the channel, not the video length: with the consumer holding the
        // first chunk, at most the channel's two chunks and the one being filled get decoded.
        var path = TestVideos.Generate("eight_seconds_96x64.mp4", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=30:duration=8", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p");
        var statistics = new DecodeStatistics();
        var chunks = 0;
        await foreach (var chunk in VideoDecoder.DecodeAsync(path, new DecodeOptions { Decoder = DecoderPreference.Cpu }, statistics))
        {
            using (chunk)
            {
                if (chunks++ == 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1));
                    Assert.InRange(statistics.FramesOutput, 30, 4 * 30);
                }
            }
        }

        Assert.Equal(8, chunks);
        Assert.Equal(240, statistics.FramesOutput);
    }

    private static async Task AssertParityAsync(string path, DecodeOptions options)
    {
        var expected = FfmpegCli.ReferenceFrames(path, options.Fps, options.Size);
        var statistics = new DecodeStatistics();
        var (actual, _) = await FrameComparison.DecodeAllAsync(path, options, statistics);

        FrameComparison.AssertMatches(expected, actual, options.Size, Path.GetFileName(path));
        Assert.Equal(actual.Length / (options.Size * options.Size * 3), statistics.FramesOutput);
        Assert.Equal("cpu", statistics.Decoder);
    }
}
