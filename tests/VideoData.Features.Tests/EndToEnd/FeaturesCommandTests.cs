using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using VideoData.Features.Tests.Model;
using VideoData.Shards;
using VideoData.Testing.Videos;
using VideoData.Testing;

namespace VideoData.Features.Tests.EndToEnd;

/// <summary>
/// <c>videodata features</c> and <c>videodata inspect</c> as a user runs them: real FFmpeg decode
/// of real clips, the real encoder, a real shard read back by our reader and by DuckDB.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class FeaturesCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vd-features-e2e-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Weights => Path.Combine(S3dParityTests.ParityDir, "s3d_weights.pth");

    [Fact]
    public async Task Features_FolderOfRealClips_CeilDurationRowsAndIdenticalOnRerun()
    {
        // A real third-party clip (HEVC, 1 s) and a generated one whose duration is not whole (2.4 s).
        var videos = Directory.CreateDirectory(Path.Combine(_dir, "videos")).FullName;
        File.Copy(RepoPaths.RequireSharedTestData("videos", "h265_video.mp4"), Path.Combine(videos, "h265_video.mp4"));
        FfmpegCli.Run("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2.4", "-c:v", "libx264", "-pix_fmt", "yuv420p", Path.Combine(videos, "generated.mp4"));
        var first = Path.Combine(_dir, "first.parquet");
        var second = Path.Combine(_dir, "second.parquet");

        var run1 = await RunCliAsync("features", videos, "--weights", Weights, "--out", first, "--seconds-per-batch", "3");
        var run2 = await RunCliAsync("features", videos, "--weights", Weights, "--out", second, "--seconds-per-batch", "3");

        Assert.True(run1.ExitCode == 0, run1.Stderr);
        Assert.True(run2.ExitCode == 0, run2.Stderr);
        Assert.Contains("wrote 2 video(s)", run1.Stdout);
        await using var a = await FeatureShardReader.OpenAsync(first);
        await using var b = await FeatureShardReader.OpenAsync(second);
        Assert.Equal(["generated", "h265_video"], a.VideoIds);
        foreach (var id in a.VideoIds)
        {
            var ra = await a.ReadVideoAsync(id);
            var rb = await b.ReadVideoAsync(id);
            var duration = ProbeDuration(Path.Combine(videos, id + ".mp4"));
            Assert.Equal((int)Math.Ceiling(duration), ra.Seconds);
            Assert.Equal(duration, ra.Duration, 3);
            Assert.Equal(ra.Seconds * 512, ra.Features.Length);
            Assert.Equal(ra.Features, rb.Features);
        }

        Assert.Equal(await File.ReadAllBytesAsync(first), await File.ReadAllBytesAsync(second));
        Assert.Equal(3, (await a.ReadVideoAsync("generated")).Seconds);

        // The shard is what an independent reader sees too.
        using var duck = JsonDocument.Parse(FeatureShardTestData.RunDuckDb(first));
        var rows = duck.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal([3, 1], rows.Select(r => r.GetProperty("seconds").GetInt32()));
        Assert.Equal((await a.ReadVideoAsync("generated")).Features, rows[0].GetProperty("features").EnumerateArray().Select(v => (float)v.GetDouble()));
    }

    [Fact]
    public async Task Inspect_Shard_PrintsSchemaLineageAndVideoStatistics()
    {
        var shard = Path.Combine(_dir, "inspect.parquet");
        var record = FeatureShardTestsAccess.Record("clip-1");
        await using (var writer = FeatureShardWriter.CreateFile(shard, new ShardLineage { WeightsSha256 = new string('b', 64) }))
        {
            await writer.AddAsync(record);
            await writer.CompleteAsync();
        }

        var result = await RunCliAsync("inspect", shard, "--video", "clip-1");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("videos      1", result.Stdout);
        Assert.Contains("features/list/element : float (list depth 1)", result.Stdout);
        Assert.Contains("videodata.weights_sha256 = " + new string('b', 64), result.Stdout);
        Assert.Contains($"features  [{record.Seconds}, 512]", result.Stdout);
        Assert.Contains($"captions  {record.Captions.Count} segment(s)", result.Stdout);
        Assert.DoesNotContain(FeatureShardFormat.IndexKey + " =", result.Stdout);
    }

    [Fact]
    public async Task Inspect_NotAShard_OneLineErrorNamingIt()
    {
        var bogus = Path.Combine(_dir, "bogus.parquet");
        await File.WriteAllTextAsync(bogus, "this is not parquet");

        var result = await RunCliAsync("inspect", bogus);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(bogus, line);
    }

    [Fact]
    public async Task Features_MissingInput_FailsWithoutWritingAShard()
    {
        var output = Path.Combine(_dir, "none.parquet");

        var result = await RunCliAsync("features", Path.Combine(_dir, "missing.mp4"), "--weights", Weights, "--out", output);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("missing.mp4: fetch:", result.Stderr);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task Features_StartedWithoutAnIsaCap_RunsOneDnnCappedAtAvx2_AndACallersValueWins()
    {
        // oneDNN's verbose mode names the instruction set it dispatches for. Without a cap in the environment the program
        // sets AVX2 itself (OneDnnIsa: the AVX-512 kernels now and then return NaN here); a value the caller gives wins.
        var video = RepoPaths.RequireSharedTestData("videos", "h265_video.mp4");
        async Task<string> IsaAsync(string? cap, string name)
        {
            var run = await VideoDataCli.RunAsync(
                new Dictionary<string, string?> { ["ONEDNN_MAX_CPU_ISA"] = cap, ["DNNL_MAX_CPU_ISA"] = null, ["ONEDNN_VERBOSE"] = "1" },
                ["features", video, "--weights", Weights, "--out", Path.Combine(_dir, name)]);
            Assert.True(run.ExitCode == 0, run.Stderr);
            return Assert.Single(run.Stdout.Split('\n'), l => l.Contains(",info,cpu,isa:", StringComparison.Ordinal));
        }

        Assert.EndsWith("isa:Intel AVX2", (await IsaAsync(null, "default.parquet")).TrimEnd());
        Assert.EndsWith("isa:Intel SSE4.1", (await IsaAsync("SSE41", "chosen.parquet")).TrimEnd());
    }

    [Fact]
    public async Task Features_BadWeights_NamesTheFile()
    {
        var weights = Path.Combine(_dir, "weights.bin");
        await File.WriteAllTextAsync(weights, "not weights");

        var result = await RunCliAsync("features", RepoPaths.RequireSharedTestData("videos", "h265_video.mp4"), "--weights", weights, "--out", Path.Combine(_dir, "x.parquet"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(weights, result.Stderr);
    }

    private static double ProbeDuration(string path)
    {
        var start = new ProcessStartInfo("ffprobe") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return double.Parse(text.Trim(), CultureInfo.InvariantCulture);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunCliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "videodata.dll"));
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static class FeatureShardTestsAccess
    {
        public static FeatureRecord Record(string id) => FeatureShardTestData.MakeRecord(id, 4, mixed: false, captions: 3, seed: 11);
    }
}
