using VideoData.Testing;
using VideoData.Testing.Videos;
using VideoData.Training.Data;

namespace VideoData.Cli.Tests.Commands;

/// <summary>
/// Every command that writes a user-given path, run as the real program against a private character device made
/// with mknod in the test's own folder (issue 18 item 6): the output is written in place, the node is still a
/// character device afterwards and no temporary file is left beside it. Never the machine's /dev/null.
/// </summary>
public sealed class DeviceOutputTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("videodata-cli-device-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Decode_OutIsACharacterDevice_WritesInPlace()
    {
        var device = DeviceNodes.CreateNull(Path.Combine(_folder, "null"));

        var result = await CliRunner.RunAsync(null, "decode", TestVideos.Get(TestVideoCatalog.H264At30Fps), "--out", device, "--decoder", "cpu", "--size", "32");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.StartsWith("60 frames", result.Stdout, StringComparison.Ordinal);
        AssertStillADevice(device);
    }

    [Fact]
    public async Task Decode_OutIsALinkToADevice_WritesThroughTheLink()
    {
        // The shape of /dev/stdout: a link, which a rename would replace.
        var device = DeviceNodes.CreateNull(Path.Combine(_folder, "null"));
        var link = Path.Combine(_folder, "stdout");
        File.CreateSymbolicLink(link, device);

        var result = await CliRunner.RunAsync(null, "decode", TestVideos.Get(TestVideoCatalog.H264At30Fps), "--out", link, "--decoder", "cpu", "--size", "32");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("symbolic link", DeviceNodes.Describe(link));
        AssertStillADevice(device, "stdout");
    }

    [Fact]
    public async Task Features_OutIsACharacterDevice_WritesInPlace()
    {
        var device = DeviceNodes.CreateNull(Path.Combine(_folder, "null"));
        var weights = RepoPaths.RequireSharedTestData("s3d", "s3d_weights.safetensors");

        var result = await CliRunner.RunAsync(null, "features", TestVideos.Get(TestVideoCatalog.H264At60Fps), "--weights", weights, "--out", device, "--decoder", "cpu");

        Assert.True(result.ExitCode == 0, result.Stderr);
        AssertStillADevice(device);
    }

    [Fact]
    public async Task Cluster_OutAndWriteEmbeddingsAreCharacterDevices_WritesBothInPlace()
    {
        var videos = SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = 8, FeatureDim = 16, MinSeconds = 3, MaxSeconds = 5, Seed = 3 }).ToList();
        var shards = Path.Combine(_folder, "shards");
        await SyntheticShards.WriteAsync(videos, shards, videosPerShard: 8);
        var devices = Path.Combine(_folder, "devices");
        Directory.CreateDirectory(devices);
        var plan = DeviceNodes.CreateNull(Path.Combine(devices, "plan"));
        var embeddings = DeviceNodes.CreateNull(Path.Combine(devices, "embeddings"));

        var result = await CliRunner.RunAsync(
            null, "cluster", "--from-features", shards, "--out", plan, "--write-embeddings", embeddings, "--batch-videos", "4", "--k", "3");

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.True(DeviceNodes.IsCharacterDevice(plan), DeviceNodes.Describe(plan));
        Assert.True(DeviceNodes.IsCharacterDevice(embeddings), DeviceNodes.Describe(embeddings));
        Assert.Empty(DeviceNodes.OtherEntries(devices, "plan", "embeddings"));
    }

    [Fact]
    public async Task CaptionsImport_SummaryAndDamagedListAreCharacterDevices_WritesThemInPlaceBesideTheShard()
    {
        var input = Path.Combine(_folder, "raw_caption.json");
        await File.WriteAllTextAsync(input, "{\"a\": {\"start\": [0], \"end\": [1], \"text\": [\"hello\"]}, \"b\": {\"start\": [\"x\"], \"end\": [1], \"text\": [\"bad\"]}}");
        var output = Path.Combine(_folder, "out");
        Directory.CreateDirectory(output);
        var summary = DeviceNodes.CreateNull(Path.Combine(output, "summary.json"));
        var damaged = DeviceNodes.CreateNull(Path.Combine(output, "damaged.jsonl"));

        var result = await CliRunner.RunAsync(null, "captions", "import", input, "--out", output, "--shard-size", "10");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.True(DeviceNodes.IsCharacterDevice(summary), DeviceNodes.Describe(summary));
        Assert.True(DeviceNodes.IsCharacterDevice(damaged), DeviceNodes.Describe(damaged));
        Assert.True(File.Exists(Path.Combine(output, "shard-00000.parquet")));
        Assert.Empty(DeviceNodes.OtherEntries(output, "summary.json", "damaged.jsonl", "shard-00000.parquet"));
    }

    private void AssertStillADevice(string device, params string[] alsoExpected)
    {
        Assert.True(DeviceNodes.IsCharacterDevice(device), $"{device} is now a {DeviceNodes.Describe(device)}");
        Assert.Empty(DeviceNodes.OtherEntries(_folder, [Path.GetFileName(device), .. alsoExpected]));
    }
}
