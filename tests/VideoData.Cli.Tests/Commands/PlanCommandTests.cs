using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using VideoData.Training.Data;
using VideoData.Training.Plans;

namespace VideoData.Cli.Tests.Commands;

/// <summary><c>videodata plan</c>: the epoch plan training would use, from feature shards, without training.</summary>
public sealed class PlanCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("videodata-cli-plan-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Plan_Shards_WritesTheShuffledPlanOfTheCaptionedTrainingVideos()
    {
        var videos = SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = 40, FeatureDim = 4, MinSeconds = 2, MaxSeconds = 3, Seed = 7 }).ToList();
        // Two videos without captions: training leaves them out of every plan, and so must the plan command.
        videos[3] = videos[3] with { Segments = [] };
        videos[17] = videos[17] with { Segments = [] };
        var captionless = videos.Where(v => v.Segments.Count == 0).Select(v => v.VideoId).ToList();
        var shards = Path.Combine(_folder, "shards");
        await SyntheticShards.WriteAsync(videos, shards, videosPerShard: 16);
        var output = Path.Combine(_folder, "plans", "epoch-3.parquet");

        var result = await CliRunner.RunAsync(null, "plan", "--shards", shards, "--epoch", "3", "--seed", "11", "--batch-videos", "8", "--held-out-videos", "5", "--out", output, "--json");

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        using var summary = JsonDocument.Parse(result.Stdout);
        Assert.Equal(3, summary.RootElement.GetProperty("shards").GetInt32());
        Assert.Equal(40, summary.RootElement.GetProperty("shard_videos").GetInt32());
        Assert.Equal(captionless.Count, summary.RootElement.GetProperty("without_captions").GetInt32());
        Assert.Equal(5, summary.RootElement.GetProperty("held_out_videos").GetInt32());
        Assert.Equal(40 - captionless.Count - 5, summary.RootElement.GetProperty("planned_videos").GetInt32());

        // Independently: captioned ids, minus the 5 whose SHA-256 sorts first, shuffled by (seed 11, epoch 3).
        var captioned = videos.Select(v => v.VideoId).Except(captionless).ToList();
        var heldOut = captioned.OrderBy(id => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id))), StringComparer.Ordinal).Take(5).ToHashSet();
        var expected = BatchPlan.Shuffled(captioned.Where(id => !heldOut.Contains(id)), 8, 11, 3);
        var written = await BatchPlan.ReadAsync(output);
        Assert.Equal(3, written.Epoch);
        Assert.Equal(expected.Batches.Select(b => string.Join(',', b)), written.Batches.Select(b => string.Join(',', b)));
        Assert.DoesNotContain(written.Batches.SelectMany(b => b), id => captionless.Contains(id) || heldOut.Contains(id));
    }

    [Fact]
    public async Task Plan_NoShardsThere_OneLineErrorNamingTheFolder()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_folder, "empty")).FullName;

        var result = await CliRunner.RunAsync(null, "plan", "--shards", empty, "--out", Path.Combine(_folder, "p.parquet"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("No feature shards", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Stdout);
    }
}
