using System.Text.Json;
using Amazon.S3.Model;
using VideoData.Testing;
using VideoData.Testing.S3;
using VideoData.Testing.Videos;

namespace VideoData.Cli.Tests.Commands;

/// <summary><c>videodata probe</c> and <c>videodata decode</c>, run as the real program.</summary>
public sealed class MediaCommandsTests : IClassFixture<S3ServerFixture>, IDisposable
{
    private const int FrameBytes = 224 * 224 * 3;
    private readonly S3ServerFixture _s3;
    private readonly string _folder = Directory.CreateTempSubdirectory("videodata-cli-media-").FullName;

    public MediaCommandsTests(S3ServerFixture s3) => _s3 = s3;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Probe_SharedClip_PrintsTheStreamFacts()
    {
        var path = RepoPaths.RequireSharedTestData("videos", "bt709_full_range.mp4");

        var result = await CliRunner.RunAsync(null, "probe", path);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Matches(@"codec\s+h264", result.Stdout);
        Assert.Matches(@"size\s+1280x720", result.Stdout);
        Assert.Matches(@"frames\s+30", result.Stdout);
        Assert.Matches(@"nvdec\s+(yes|no: .+)", result.Stdout);
    }

    [Fact]
    public async Task Probe_Json_ReportsRotationAndAudio()
    {
        var path = TestVideos.Get(TestVideoCatalog.Rotated90);

        var result = await CliRunner.RunAsync(null, "probe", path, "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.Equal(90, root.GetProperty("rotation").GetDouble());
        Assert.Equal(320, root.GetProperty("width").GetInt32());
        Assert.Equal(240, root.GetProperty("display_width").GetInt32());
        Assert.Equal(320, root.GetProperty("display_height").GetInt32());
        Assert.Equal(30, root.GetProperty("avg_frame_rate").GetDouble());
        Assert.Equal(0, root.GetProperty("audio_streams").GetArrayLength());
    }

    [Fact]
    public async Task Decode_LocalFile_WritesTheReferenceFramesAndPrintsTheCount()
    {
        var path = TestVideos.Get(TestVideoCatalog.H264At25Fps);
        var output = Path.Combine(_folder, "frames.rgb");

        var result = await CliRunner.RunAsync(null, "decode", path, "--out", output, "--decoder", "cpu", "--threads", "2");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var expected = FfmpegCli.ReferenceFrames(path);
        Assert.StartsWith($"{expected.Length / FrameBytes} frames (224x224 RGB24, 30 fps, decoder cpu)", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(expected.Length, new FileInfo(output).Length);
        Assert.Empty(Directory.GetFiles(_folder, VideoData.Core.IO.OutputFile.TemporaryPrefix + "*"));
    }

    [Fact]
    public async Task Decode_FromS3_MoovAtTheEnd_ReadsThroughTheRangedStream()
    {
        var path = TestVideos.Get(TestVideoCatalog.H264At30Fps);
        var bucket = await _s3.CreateBucketAsync("media");
        await _s3.Client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "videos/clip.mp4", FilePath = path, UseChunkEncoding = false });
        var output = Path.Combine(_folder, "s3.rgb");

        var result = await CliRunner.RunAsync(S3Environment(), "decode", $"s3://{bucket}/videos/clip.mp4", "--out", output, "--size", "112", "--fps", "10");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var expected = FfmpegCli.ReferenceFrames(path, fps: 10, size: 112);
        Assert.Equal(expected.Length, new FileInfo(output).Length);
    }

    [Fact]
    public async Task Decode_MissingS3Object_IsOneFetchLine()
    {
        var bucket = await _s3.CreateBucketAsync("media");
        var uri = $"s3://{bucket}/missing.mp4";

        var result = await CliRunner.RunAsync(S3Environment(), "decode", uri, "--out", Path.Combine(_folder, "x.rgb"));

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"videodata decode: {uri}: fetch: ", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task Decode_AudioOnly_IsOneProbeLineAndNoOutputFile()
    {
        var path = TestVideos.Get(TestVideoCatalog.AudioOnly);
        var output = Path.Combine(_folder, "audio.rgb");

        var result = await CliRunner.RunAsync(null, "decode", path, "--out", output);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"videodata decode: {path}: probe: no decodable video stream", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public async Task Probe_RandomBytes_IsOneProbeLine()
    {
        var path = Path.Combine(_folder, "random.mp4");
        var bytes = new byte[4096];
        new Random(5).NextBytes(bytes);
        await File.WriteAllBytesAsync(path, bytes);

        var result = await CliRunner.RunAsync(null, "probe", path);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"videodata probe: {path}: probe: ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decode_BadOption_IsRejectedWithTheOptionName()
    {
        var result = await CliRunner.RunAsync(null, "decode", "x.mp4", "--out", Path.Combine(_folder, "x.rgb"), "--decoder", "gpu");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("'gpu'", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("auto", result.Stderr, StringComparison.Ordinal);
    }

    private Dictionary<string, string?> S3Environment() => _s3.ProgramEnvironment();
}
