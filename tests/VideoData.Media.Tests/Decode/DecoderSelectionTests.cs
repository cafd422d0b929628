using VideoData.Core.Failures;
using VideoData.Media.Decode;
using VideoData.Testing.Videos;

namespace VideoData.Media.Tests.Decode;

/// <summary>
/// Decoder choice. CI machines have no GPU, so the CPU fallback is what runs there; on a machine
/// with a usable CUDA device the same tests check that NVDEC is used.
/// </summary>
public sealed class DecoderSelectionTests
{
    private static readonly bool s_cuda = FfmpegRuntime.Inspect().Cuda.Available;

    [Fact]
    public async Task Decode_Auto_UsesNvdecWhenUsableElseCpuAndSaysWhy()
    {
        var path = TestVideos.Get(TestVideoCatalog.H264At30Fps);
        var statistics = new DecodeStatistics();

        var (frames, _) = await FrameComparison.DecodeAllAsync(path, new DecodeOptions { Decoder = DecoderPreference.Auto }, statistics);

        FrameComparison.AssertMatches(FfmpegCli.ReferenceFrames(path), frames, 224, "auto decoder");
        if (s_cuda)
        {
            Assert.Equal("cuda", statistics.Decoder);
            Assert.Null(statistics.FallbackReason);
        }
        else
        {
            Assert.Equal("cpu", statistics.Decoder);
            Assert.StartsWith("decoding on the CPU: cuda hwaccel not available: ", statistics.FallbackReason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Decode_Cuda_WithoutDeviceIsAnEnvironmentErrorElseUsesNvdec()
    {
        var path = TestVideos.Get(TestVideoCatalog.H264At30Fps);
        var options = new DecodeOptions { Decoder = DecoderPreference.Cuda };
        if (!s_cuda)
        {
            var error = await Assert.ThrowsAsync<NativeDependencyException>(() => FrameComparison.DecodeAllAsync(path, options));
            Assert.Contains("--decoder cuda was asked for", error.Message, StringComparison.Ordinal);
            return;
        }

        var statistics = new DecodeStatistics();
        var (frames, _) = await FrameComparison.DecodeAllAsync(path, options, statistics);
        Assert.Equal("cuda", statistics.Decoder);
        FrameComparison.AssertMatches(FfmpegCli.ReferenceFrames(path), frames, 224, "cuda decoder");
    }

    [Fact]
    public async Task Decode_Cpu_NeverTouchesCuda()
    {
        var statistics = new DecodeStatistics();

        await FrameComparison.DecodeAllAsync(TestVideos.Get(TestVideoCatalog.H264At25Fps), new DecodeOptions { Decoder = DecoderPreference.Cpu }, statistics);

        Assert.Equal("cpu", statistics.Decoder);
        Assert.Null(statistics.FallbackReason);
    }
}
