using System.Text.Json;
using VideoData.Shards;
using VideoData.Training.Alignment;
using VideoData.Training.Data;

namespace VideoData.Cli.Tests.Commands;

/// <summary><c>videodata train</c> with alignment, <c>videodata align</c> and <c>align inspect</c>, end to end through the real CLI.</summary>
public sealed class AlignCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-align-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>No launcher variables from the machine running the tests: one process, rank 0.</summary>
    private static Dictionary<string, string?> Environment()
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (rank, world) in VideoData.Training.Trainer.TrainingRank.EnvironmentVariables)
        {
            environment[rank] = string.Empty;
            environment[world] = string.Empty;
        }

        return environment;
    }

    /// <summary>Shards of a synthetic corpus whose caption texts name their video and segment ("v3 s1"), so inspect's texts can be checked.</summary>
    private async Task<string> ShardsAsync()
    {
        var videos = SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = 20, FeatureDim = 16, MinSeconds = 10, MaxSeconds = 30, Seed = 6, ShiftFraction = 0.3 });
        var folder = Path.Combine(_dir, "shards");
        Directory.CreateDirectory(folder);
        var writer = FeatureShardWriter.CreateFile(Path.Combine(folder, "shard-00000.parquet"), new ShardLineage { Encoder = "synthetic", WeightsSha256 = new string('0', 64) });
        await using (writer)
        {
            foreach (var video in videos)
            {
                await writer.AddAsync(new FeatureRecord
                {
                    VideoId = video.VideoId,
                    Duration = video.Seconds,
                    Seconds = video.Seconds,
                    Dim = video.FeatureDim,
                    Features = video.Features,
                    Captions = video.Segments.Select((s, i) => new VideoData.Shards.CaptionSegment(s.Start, s.End, $"{video.VideoId} s{i}", s.TokenIds)).ToArray(),
                });
            }

            await writer.CompleteAsync();
        }

        return folder;
    }

    private string Config(string shards) => WriteFile("align.json", $$"""
        {
          "name": "align",
          "output": {{JsonSerializer.Serialize(Path.Combine(_dir, "out"))}},
          "seed": 2,
          "epochs": 2,
          "batch_videos": 4,
          "threads": 1,
          "data": { "shards": {{JsonSerializer.Serialize(shards)}}, "held_out_videos": 4 },
          "sampler": { "clip_per_video": 2 },
          "streamer": { "assemblers": 1, "prefetch_depth": 2, "token_dropout": 0.5 },
          "model": { "preset": "tiny", "feature_dim": 16, "hidden": 32, "feed_forward": 64 },
          "optimizer": { "lr": 0.003, "warmup_steps": 2 },
          "checkpoint": { "every_steps": 0, "keep": 1 },
          "eval": { "videos": 4 },
          "alignment": { "enabled": true, "every": 1, "window_seconds": 4, "threshold": 0.1 }
        }
        """);

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task TrainAlignAndInspect_EndToEnd()
    {
        var shards = await ShardsAsync();
        var config = Config(shards);
        var output = Path.Combine(_dir, "out");

        // Training with alignment and token dropout: epoch 1 trains on the table aligned before it.
        var train = await CliRunner.RunAsync(Environment(), "train", "--config", config);
        Assert.True(train.ExitCode == 0, train.Stdout + train.Stderr);
        Assert.Contains("epoch 1 done", train.Stdout, StringComparison.Ordinal);
        var between = await AlignmentTable.ReadAsync(AligningEpochPlanner.TablePath(output, 1));
        Assert.Equal(1, between.Lineage.Epoch);
        Assert.Equal((4, 0.1), (between.Lineage.WindowSeconds, between.Lineage.Threshold));
        Assert.Contains(Path.Combine(output, "checkpoints"), between.Lineage.Checkpoint, StringComparison.Ordinal);
        Assert.False(File.Exists(AligningEpochPlanner.TablePath(output, 0)));

        // A fresh run into the same folder is refused: it would re-time its captions with this run's tables.
        var again = await CliRunner.RunAsync(Environment(), "train", "--config", config);
        Assert.Equal(2, again.ExitCode);

        var table = Path.Combine(_dir, "aligned.parquet");
        var align = await CliRunner.RunAsync(Environment(), "align", "--config", config, "--checkpoint", output, "--out", table, "--window", "3", "--threshold", "0.2", "--epoch", "5", "--json");
        Assert.True(align.ExitCode == 0, align.Stdout + align.Stderr);
        var summary = JsonDocument.Parse(align.Stdout).RootElement;
        var read = await AlignmentTable.ReadAsync(table);
        Assert.Equal(16, summary.GetProperty("videos").GetInt32());
        Assert.Equal(read.Segments.Count, summary.GetProperty("segments").GetInt32());
        Assert.Equal(read.Segments.Count(s => s.Kept), summary.GetProperty("kept").GetInt32());
        Assert.Equal(new AlignmentLineage(summary.GetProperty("checkpoint").GetString()!, 5, 3, 0.2), read.Lineage);
        Assert.StartsWith(Path.Combine(output, "checkpoints", "step-"), read.Lineage.Checkpoint, StringComparison.Ordinal);
        Assert.Equal(16, read.Segments.Select(s => s.VideoId).Distinct().Count());
        Assert.Contains("score p10/p50/p90", align.Stderr, StringComparison.Ordinal);

        var video = read.Segments[0].VideoId;
        var rows = read.ByVideo()[video];
        var inspect = await CliRunner.RunAsync(Environment(), "align", "inspect", table, "--video", video, "--shards", shards);
        Assert.True(inspect.ExitCode == 0, inspect.Stdout + inspect.Stderr);
        var lines = inspect.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"{video}: {rows.Length} segments, {rows.Count(r => r.Kept)} kept", lines[0], StringComparison.Ordinal);
        Assert.Equal(rows.Length, lines.Count(l => l.Contains($"{video} s", StringComparison.Ordinal)));
        for (var i = 0; i < rows.Length; i++)
        {
            var line = Assert.Single(lines, l => l.EndsWith($"{video} s{i}", StringComparison.Ordinal));
            Assert.Contains(FormattableString.Invariant($"[{rows[i].OriginalStart:F2}, {rows[i].OriginalEnd:F2})"), line, StringComparison.Ordinal);
            Assert.Contains(FormattableString.Invariant($"[{rows[i].AlignedStart:F2}, {rows[i].AlignedEnd:F2})"), line, StringComparison.Ordinal);
            Assert.Contains(rows[i].Kept ? " yes " : " no ", line, StringComparison.Ordinal);
        }

        var json = await CliRunner.RunAsync(Environment(), "align", "inspect", table, "--video", video, "--json");
        Assert.True(json.ExitCode == 0, json.Stdout + json.Stderr);
        var segments = JsonDocument.Parse(json.Stdout).RootElement.GetProperty("segments").EnumerateArray().ToList();
        Assert.Equal(rows.Select(r => (r.AlignedStart, r.Score, r.Kept)), segments.Select(s => (s.GetProperty("aligned_start").GetDouble(), s.GetProperty("score").GetDouble(), s.GetProperty("kept").GetBoolean())));

        var unknown = await CliRunner.RunAsync(Environment(), "align", "inspect", table, "--video", "no-such-video");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("'no-such-video'", unknown.Stderr, StringComparison.Ordinal);

        var missing = Path.Combine(_dir, "nowhere");
        var noCheckpoint = await CliRunner.RunAsync(Environment(), "align", "--config", config, "--checkpoint", missing, "--out", Path.Combine(_dir, "x.parquet"));
        Assert.Equal(2, noCheckpoint.ExitCode);
        Assert.Contains(missing, noCheckpoint.Stderr, StringComparison.Ordinal);
    }
}
