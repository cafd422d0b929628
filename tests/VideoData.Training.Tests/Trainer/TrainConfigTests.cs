using VideoData.Testing;
using VideoData.Training.Model;
using VideoData.Training.Trainer;

namespace VideoData.Training.Tests.Trainer;

public sealed class TrainConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-trainconfig-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Load_ReferencePipeline_IsTheVideoClipRecipe()
    {
        var config = TrainConfig.Load(Path.Combine(RepoPaths.Root, "pipelines", "videoclip-reference.json"));
        var o = config.ToTrainerOptions();
        Assert.Equal(VideoClipModelOptions.Reference, o.Model);
        Assert.Equal(32, o.BatchVideos);
        Assert.Equal(16, o.Streamer.Sampler.ClipsPerVideo);
        Assert.Equal((8, 64, 3, 32, 32, 64, 256.0), (o.Streamer.Sampler.MinTextTokens, o.Streamer.Sampler.MaxTextTokens, o.Streamer.Sampler.MinVideoSeconds, o.Streamer.Sampler.MaxVideoSeconds, o.Streamer.Sampler.MaxVideoTokens, o.Streamer.Sampler.CaptionLength, o.Streamer.Sampler.MaxTextSpanSeconds));
        Assert.Equal((5e-5, 0.9, 0.98, 1000, 2.0), (o.LearningRate, o.Beta1, o.Beta2, o.WarmupSteps, o.ClipNorm));
        Assert.True(config.Retrieval.Enabled);
    }

    [Fact]
    public void Load_TinyPipeline_IsTheTinyPresetOnSyntheticData()
    {
        var config = TrainConfig.Load(Path.Combine(RepoPaths.Root, "pipelines", "videoclip-tiny.json"));
        var o = config.ToTrainerOptions();
        Assert.Equal(VideoClipModelOptions.Tiny, o.Model);
        Assert.Null(config.Data.Shards);
        Assert.Equal("cpu", config.Device);
        Assert.False(config.Retrieval.Enabled);
    }

    [Fact]
    public void Load_DemoPipeline_IsTheTinyPresetOnTheDemoShards()
    {
        var config = TrainConfig.Load(Path.Combine(RepoPaths.Root, "pipelines", "videoclip-demo.json"));
        var o = config.ToTrainerOptions();
        Assert.Equal(VideoClipModelOptions.Tiny, o.Model);
        Assert.Equal("out/demo/features/shards", config.Data.Shards);
        Assert.Equal(2, config.Data.HeldOutVideos);
        Assert.Equal("cpu", config.Device);
    }

    [Fact]
    public void Load_UnknownKeyOrBadValue_FailsNamingTheFileAndTheProblem()
    {
        var typo = Path.Combine(_dir, "typo.json");
        File.WriteAllText(typo, """{ "epoch": 3 }""");
        var ex = Assert.Throws<InvalidDataException>(() => TrainConfig.Load(typo));
        Assert.Contains("typo.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'epoch'", ex.Message, StringComparison.Ordinal);

        var bad = Path.Combine(_dir, "bad.json");
        File.WriteAllText(bad, """{ "model": { "preset": "huge" } }""");
        var preset = Assert.Throws<InvalidDataException>(() => TrainConfig.Load(bad));
        Assert.Contains("model.preset = 'huge'", preset.Message, StringComparison.Ordinal);
    }
}
