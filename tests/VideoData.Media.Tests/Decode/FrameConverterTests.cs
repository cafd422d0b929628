using VideoData.Media.Decode;
using VideoData.Testing;
using VideoData.Testing.Videos;

namespace VideoData.Media.Tests.Decode;

/// <summary>
/// The two-pass conversion of 8-bit 4:2:0 frames (scale to 4:2:2, then only the crop to RGB24) gives exactly the bytes of
/// the CLI's single swscale call, for every clip: odd and even crops, portrait and rotated frames, full and limited
/// range, BT.601 and BT.709, other sizes; formats and odd scaled widths it does not cover take the single call.
/// </summary>
public sealed class FrameConverterTests
{
    [Theory]
    [MemberData(nameof(DecodeParityTests.GeneratedClips), MemberType = typeof(DecodeParityTests))]
    public async Task Convert_TwoPasses_SameBytesAsTheSinglePass(string fileName) =>
        await AssertSameBytesAsync(TestVideos.Get(TestVideoCatalog.Decodable.Single(v => v.FileName == fileName)), new DecodeOptions { Decoder = DecoderPreference.Cpu });

    [Theory]
    [MemberData(nameof(DecodeParityTests.SharedClips), MemberType = typeof(DecodeParityTests))]
    public async Task Convert_TwoPasses_SameBytesAsTheSinglePassOnSharedClips(string fileName) =>
        await AssertSameBytesAsync(RepoPaths.RequireSharedTestData("videos", fileName), new DecodeOptions { Decoder = DecoderPreference.Cpu });

    [Theory]
    [InlineData(640, 360, 224)] // the benchmark's shape: 398×224, crop at x = 87 (odd)
    [InlineData(641, 359, 224)]
    [InlineData(1280, 720, 112)] // 199×112: odd, so the single call (swscale interpolates chroma fully there)
    [InlineData(1280, 720, 224)]
    [InlineData(200, 300, 96)]
    public async Task Convert_TwoPasses_SameBytesAsTheSinglePassAtOtherSizes(int width, int height, int size)
    {
        var path = TestVideos.Generate($"convert_{width}x{height}.mp4", "-f", "lavfi", "-i", $"testsrc2=size={width}x{height}:rate=30:duration=1", "-vf", "noise=alls=12:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p");
        await AssertSameBytesAsync(path, new DecodeOptions { Decoder = DecoderPreference.Cpu, Size = size });
    }

    private static async Task AssertSameBytesAsync(string path, DecodeOptions options)
    {
        var (twoPasses, _) = await FrameComparison.DecodeAllAsync(path, options);
        var (onePass, _) = await FrameComparison.DecodeAllAsync(path, options with { SinglePassConversion = true });

        Assert.NotEmpty(onePass);
        Assert.Equal(onePass.Length, twoPasses.Length);
        var frameBytes = options.Size * options.Size * 3;
        var firstDifference = onePass.AsSpan().CommonPrefixLength(twoPasses);
        Assert.True(
            firstDifference == onePass.Length,
            $"{Path.GetFileName(path)}: first differing byte at frame {firstDifference / frameBytes}, offset {firstDifference % frameBytes}");
    }
}
