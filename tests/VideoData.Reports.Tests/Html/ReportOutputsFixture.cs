using System.Text.Json;
using VideoData.Testing;

namespace VideoData.Reports.Tests.Html;

/// <summary>
/// Runs the real <c>videodata demo</c> (which ends by writing its report) and a small clustered <c>videodata train</c>
/// with <c>--tensorboard</c> once for the whole test class, then writes the training report with <c>videodata report</c>.
/// </summary>
public sealed class ReportOutputsFixture : IAsyncLifetime
{
    public string Root { get; } = Directory.CreateTempSubdirectory("videodata-reports-").FullName;

    public string DemoFolder => Path.Combine(Root, "demo");

    public string TrainFolder => Path.Combine(Root, "train");

    public string TensorBoardFolder => Path.Combine(Root, "tensorboard");

    public string TrainReport => Path.Combine(Root, "train-report.html");

    public VideoDataCli.Result Demo { get; private set; } = null!;

    public VideoDataCli.Result Train { get; private set; } = null!;

    public VideoDataCli.Result Report { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Demo = await VideoDataCli.RunAsync(null, ["demo", "--out", DemoFolder, "--videos", "3", "--seconds", "1", "--progress", "none"], TimeSpan.FromMinutes(8));
        var config = Path.Combine(Root, "train.json");
        await File.WriteAllTextAsync(config, $$"""
            {
              "name": "report-test",
              "output": {{JsonSerializer.Serialize(TrainFolder)}},
              "seed": 3,
              "epochs": 3,
              "batch_videos": 8,
              "data": { "held_out_videos": 8, "synthetic": { "videos": 48, "held_out_videos": 8, "vocabulary_size": 40, "words_per_video": 4, "min_seconds": 8, "max_seconds": 20, "seed": 1 } },
              "sampler": { "clip_per_video": 2 },
              "streamer": { "assemblers": 1, "prefetch_depth": 2 },
              "model": { "preset": "tiny", "feature_dim": 16, "hidden": 32, "feed_forward": 64 },
              "optimizer": { "lr": 0.003, "warmup_steps": 2 },
              "checkpoint": { "every_steps": 0, "keep": 1 },
              "eval": { "videos": 8 },
              "retrieval": { "enabled": true, "k": 8 }
            }
            """);
        Train = await VideoDataCli.RunAsync(null, ["train", "--config", config, "--tensorboard", TensorBoardFolder], TimeSpan.FromMinutes(8));
        Report = await VideoDataCli.RunAsync(null, ["report", TrainFolder, "--html", TrainReport], TimeSpan.FromMinutes(3));
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }
}
