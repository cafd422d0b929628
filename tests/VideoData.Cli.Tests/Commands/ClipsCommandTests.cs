using System.Text.Json;
using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Streaming;
using VideoData.Training.Trainer;

namespace VideoData.Cli.Tests.Commands;

/// <summary><c>videodata clips</c> against the sampler and the batch streamer training uses, on shards read the way training reads them.</summary>
public sealed class ClipsCommandTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-clips-").FullName;
    private string _config = string.Empty;
    private string _shards = string.Empty;
    private IReadOnlyList<VideoRecord> _videos = [];

    public async Task InitializeAsync()
    {
        _videos = SyntheticCorpus.Generate(new SyntheticCorpusOptions { Videos = 12, FeatureDim = 16, MinSeconds = 15, MaxSeconds = 50, Seed = 9 });
        _shards = Path.Combine(_dir, "shards");
        Directory.CreateDirectory(_shards);
        // Two shards, with caption texts (training keeps only the token ids; clips reads the texts from the shards).
        foreach (var (part, index) in _videos.Chunk(7).Select((p, i) => (p, i)))
        {
            var writer = FeatureShardWriter.CreateFile(Path.Combine(_shards, $"shard-{index:D5}.parquet"), new ShardLineage { Encoder = "synthetic", WeightsSha256 = new string('0', 64) });
            await using (writer)
            {
                foreach (var video in part)
                {
                    await writer.AddAsync(new FeatureRecord
                    {
                        VideoId = video.VideoId,
                        Duration = video.Seconds,
                        Seconds = video.Seconds,
                        Dim = video.FeatureDim,
                        Features = video.Features,
                        Captions = video.Segments.Select((s, i) => new VideoData.Shards.CaptionSegment(s.Start, s.End, $"{video.VideoId} words {i}", s.TokenIds)).ToArray(),
                    });
                }

                await writer.CompleteAsync();
            }
        }

        // Short captions and few video tokens, so clips are cut on both sides.
        _config = Path.Combine(_dir, "clips.json");
        await File.WriteAllTextAsync(_config, $$"""
            {
              "name": "clips",
              "output": {{JsonSerializer.Serialize(Path.Combine(_dir, "out"))}},
              "seed": 5,
              "data": { "shards": {{JsonSerializer.Serialize(_shards)}} },
              "sampler": { "clip_per_video": 3, "max_video_len": 8, "caption_len": 12 },
              "model": { "preset": "tiny", "feature_dim": 16, "hidden": 32, "feed_forward": 64 }
            }
            """);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    private ClipSamplerOptions Sampler => TrainConfig.Load(_config).Sampler.ToOptions(16);

    private async Task<FeatureShardVideoStore> OpenStoreAsync(BlobStoreResolver resolver)
    {
        var (blobs, key) = resolver.Resolve(_shards);
        return await FeatureShardVideoStore.OpenAsync(blobs, key.Length == 0 || key.EndsWith('/') ? key : key + "/", new FeatureShardStoreOptions { FeatureDim = 16 });
    }

    [Fact]
    public async Task Clips_VideoAndEpoch_PrintsTheSamplersClipsWithTextsAndTokenCounts()
    {
        var id = _videos[8].VideoId;
        using var resolver = new BlobStoreResolver(new BlobStoreOptions());
        await using var store = await OpenStoreAsync(resolver);
        var video = await store.GetAsync(id);
        var sampler = new OverlappedClipSampler(Sampler);

        foreach (var epoch in new[] { 1, 2 })
        {
            var result = await CliRunner.RunAsync(null, "clips", "--config", _config, "--video", id, "--epoch", $"{epoch}", "--json");
            Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
            using var json = JsonDocument.Parse(result.Stdout);
            var root = json.RootElement;
            Assert.Equal(id, root.GetProperty("video_id").GetString());
            Assert.Equal(5, root.GetProperty("seed").GetInt64());
            Assert.Equal(video.Seconds, root.GetProperty("seconds").GetInt32());

            var expected = sampler.Sample(video, seed: 5, epoch);
            var clips = root.GetProperty("clips").EnumerateArray().ToList();
            Assert.Equal(expected.Length, clips.Count);
            for (var i = 0; i < expected.Length; i++)
            {
                var span = expected[i];
                var c = clips[i];
                Assert.Equal(span, new ClipSpan(c.GetProperty("video_start").GetInt32(), c.GetProperty("video_end").GetInt32(), c.GetProperty("text_start").GetInt32(), c.GetProperty("text_end").GetInt32()));
                Assert.Equal(Math.Min(8, span.VideoLength), c.GetProperty("video_tokens").GetInt32());
                var spanTokens = Enumerable.Range(span.TextStart, span.TextEnd - span.TextStart).Sum(s => video.Segments[s].TokenIds.Length);
                Assert.Equal(spanTokens, c.GetProperty("span_tokens").GetInt32());
                Assert.Equal(Math.Min(9, spanTokens), c.GetProperty("caption_tokens").GetInt32());
                Assert.Equal(video.Segments[span.TextStart].Start, c.GetProperty("text_start_seconds").GetDouble());
                Assert.Equal(video.Segments[span.TextEnd - 1].End, c.GetProperty("text_end_seconds").GetDouble());
                Assert.Equal(string.Join(' ', Enumerable.Range(span.TextStart, span.TextEnd - span.TextStart).Select(s => $"{id} words {s}")), c.GetProperty("text").GetString());
            }
        }

        var table = await CliRunner.RunAsync(null, "clips", "--shards", _shards, "--config", _config, "--video", id, "--epoch", "1");
        Assert.True(table.ExitCode == 0, table.Stdout + table.Stderr);
        Assert.Contains($"video {id}: {video.Seconds} s, {video.Segments.Count} caption segments; epoch 1, seed 5: 3 clips", table.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{id} words", table.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clips_PlanBatch_MatchesTheBatchTheStreamerAssemblesForTraining()
    {
        using var resolver = new BlobStoreResolver(new BlobStoreOptions());
        await using var store = await OpenStoreAsync(resolver);
        var plan = BatchPlan.Shuffled(store.VideoIds, batchVideos: 4, seed: 7, epoch: 2);
        var planFile = Path.Combine(_dir, "epoch-0002.parquet");
        await BatchPlan.WriteAsync(plan, planFile);

        var result = await CliRunner.RunAsync(null, "clips", "--config", _config, "--plan", planFile, "--batch", "1", "--json");

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(2, json.RootElement.GetProperty("epoch").GetInt32());
        Assert.Equal(7, json.RootElement.GetProperty("seed").GetInt64());
        var printed = json.RootElement.GetProperty("videos").EnumerateArray()
            .SelectMany(v => v.GetProperty("clips").EnumerateArray().Select(c => (
                Video: v.GetProperty("video_id").GetString(),
                Span: new ClipSpan(c.GetProperty("video_start").GetInt32(), c.GetProperty("video_end").GetInt32(), c.GetProperty("text_start").GetInt32(), c.GetProperty("text_end").GetInt32()),
                VideoTokens: c.GetProperty("video_tokens").GetInt32(),
                CaptionTokens: c.GetProperty("caption_tokens").GetInt32())))
            .ToList();

        // What training streams for that batch: ids and spans, and the masks' counts of real video rows and caption tokens.
        var streamed = new List<(string? Video, ClipSpan Span, int VideoTokens, int CaptionTokens)>();
        await foreach (var batch in BatchStreamer.StreamAsync(store, plan, new BatchStreamerOptions { Sampler = Sampler }, startStep: 1))
        {
            using (batch)
            {
                var vmasks = batch.Vmasks.sum(1).data<long>().ToArray();
                var cmasks = batch.Cmasks.sum(1).data<long>().ToArray();
                for (var i = 0; i < batch.ClipCount; i++)
                {
                    streamed.Add((batch.VideoIds[i], batch.Spans[i], (int)vmasks[i], (int)cmasks[i] - 3));
                }
            }

            break;
        }

        Assert.Equal(12, streamed.Count);
        Assert.Equal(streamed, printed);
    }

    [Fact]
    public async Task ClipsHelp_ListsEveryOptionAndExamples()
    {
        var result = await CliRunner.RunAsync(null, "clips", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (var option in new[] { "--shards <PATH|URI>", "--config <FILE>", "--video <ID>", "--epoch <E>", "--seed <N>", "--plan <PLAN>", "--batch <N>", "--json" })
        {
            Assert.Contains(option, result.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("videodata clips --shards out/demo/features/shards --video demo002 --epoch 0", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--video", "nope", "--epoch", "0" }, "Video 'nope'")]
    [InlineData(new[] { "--video", "x" }, "--video needs --epoch")]
    [InlineData(new[] { "--plan", "p.parquet", "--batch", "0", "--video", "x" }, "do not combine it with --video")]
    [InlineData(new[] { "--epoch", "0" }, "give --video ID --epoch E, or --plan P --batch N")]
    public async Task Clips_BadArguments_ExitTwoWithAMessageNamingTheProblem(string[] arguments, string message)
    {
        var result = await CliRunner.RunAsync(null, ["clips", "--config", _config, .. arguments]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }
}
