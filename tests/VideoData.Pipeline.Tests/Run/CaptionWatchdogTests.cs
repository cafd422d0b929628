using System.Runtime.InteropServices;
using System.Text.Json;
using VideoData.Pipeline.Ledger;
using VideoData.Testing;

namespace VideoData.Pipeline.Tests.Run;

/// <summary>
/// Issue 18, captions under the watchdog, on the real program: a caption file whose load never finishes (a FIFO nobody
/// writes: open(2) blocks where no cancellation reaches) costs its video at most <c>captions.timeout_seconds</c>, is that
/// video's note (captions optional) or its <c>captions</c> failure (required), and never stalls the encoder: every other
/// video of the shard is published.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class CaptionWatchdogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-captions-watchdog-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Preprocess_CaptionFileThatNeverLoads_IsAbandonedAfterTheTimeout_AndTheOtherVideosArePublished(bool required)
    {
        var source = await SourceAsync();
        var output = Path.Combine(_dir, required ? "required" : "optional");

        var run = await VideoDataCli.RunAsync(null,
        [
            "preprocess", "--manifest", Path.Combine(source, "manifest.csv"), "--output", output, "--progress", "json",
            "--set", "shard_size=4", "--set", "decode.fps=16", "--set", "decode.size=112", "--set", "decode.decoder=cpu", "--set", "decode.threads=1",
            "--set", "encoder.seconds_per_batch=4", "--set", "stages.decode_parallelism=2", "--set", "stages.decoded_seconds_capacity=8",
            "--set", "captions.timeout_seconds=2", "--set", $"captions.required={(required ? "true" : "false")}",
        ], TimeSpan.FromMinutes(5));

        Assert.True(run.ExitCode == 0, run.Stderr);
        var ledger = Assert.Single(Directory.GetFiles(Path.Combine(output, "ledger"), "*.json").Select(f => JsonSerializer.Deserialize<ShardLedger>(File.ReadAllText(f), ShardLedger.JsonOptions)!));
        var stuck = ledger.Videos.Single(v => v.VideoId == "stuck");
        var records = await PipelineCorpus.ReadShardsAsync(Path.Combine(output, "shards"));
        Assert.Equal(["demo002", "demo003"], ledger.Videos.Where(v => v.VideoId != "stuck").Select(v => $"{v.VideoId}").Order(StringComparer.Ordinal));
        Assert.All(ledger.Videos.Where(v => v.VideoId != "stuck"), v => Assert.True(v.IsDone, $"{v.VideoId}: {v.Status} {v.Message}"));
        Assert.NotEmpty(records["demo002"].Captions);

        if (required)
        {
            Assert.Equal(("failed", "captions"), (stuck.Status, stuck.FailureClass));
            Assert.Contains("not loaded within captions.timeout_seconds = 2 s", stuck.Message, StringComparison.Ordinal);
            Assert.Contains("stuck.srt", stuck.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("stuck", records.Keys);
        }
        else
        {
            Assert.True(stuck.IsDone, $"stuck: {stuck.Status} {stuck.Message}");
            Assert.Empty(records["stuck"].Captions);
            Assert.Contains("stuck: kept without captions (captions): captions", run.Stderr + run.Stdout, StringComparison.Ordinal);
            Assert.Contains("not loaded within captions.timeout_seconds = 2 s", run.Stderr + run.Stdout, StringComparison.Ordinal);
        }
    }

    /// <summary>Three good videos; "stuck" has a FIFO as its caption file, demo002 its real captions, demo003 none.</summary>
    private async Task<string> SourceAsync()
    {
        var corpus = await PipelineCorpus.LocalAsync();
        var source = Path.Combine(_dir, "source");
        Directory.CreateDirectory(Path.Combine(source, "videos"));
        Directory.CreateDirectory(Path.Combine(source, "captions"));
        foreach (var id in new[] { "demo000", "demo002", "demo003" })
        {
            File.Copy(Path.Combine(corpus.Folder, "videos", id + ".mp4"), Path.Combine(source, "videos", id + ".mp4"));
        }

        var demo002Captions = File.ReadLines(corpus.Manifest).Select(l => l.Split(',')).Single(f => f[0] == "demo002")[2];
        File.Copy(Path.Combine(corpus.Folder, demo002Captions), Path.Combine(source, demo002Captions));
        Assert.Equal(0, MakeFifo(Path.Combine(source, "captions", "stuck.srt"), Convert.ToUInt32("644", 8)));
        await File.WriteAllTextAsync(Path.Combine(source, "manifest.csv"),
            $"video_id,uri,caption_uri\nstuck,videos/demo000.mp4,captions/stuck.srt\ndemo002,videos/demo002.mp4,{demo002Captions}\ndemo003,videos/demo003.mp4,\n");
        return source;
    }

    [DllImport("libc.so.6", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo(string path, uint mode);
}
