using System.Text.Json;
using VideoData.Training.Data;
using VideoData.Training.Model;
using VideoData.Training.Plans;
using VideoData.Training.Retrieval;
using VideoData.Training.Tests.Trainer;
using VideoData.Training.Trainer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VideoData.Training.Tests.Retrieval;

[Collection("TorchSharp training")]
public sealed class ClusteredEpochPlannerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-cluster-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task FromFrozenFeatures_OnSyntheticCorpus_ClusteredBatchesAreMoreAlikeThanShuffled()
    {
        var store = new InMemoryVideoStore(TinyRun.Corpus(320, "quality"));
        var embeddings = await VideoEmbedder.FromFrozenFeaturesAsync(store);

        var clustered = ClusteredPlans.Build(embeddings, new ClusteredPlanOptions { BatchVideos = 16, Seed = 4, Neighbours = new NearestNeighbourOptions { K = 31 } });
        var shuffled = BatchPlan.Shuffled(store.VideoIds, 16, 4, 0);
        var clusteredSimilarity = clustered.Batches.Average(b => BatchSimilarity.MeanPairwiseCosine(embeddings, b));
        var shuffledSimilarity = shuffled.Batches.Average(b => BatchSimilarity.MeanPairwiseCosine(embeddings, b));

        output.WriteLine($"mean intra-batch cosine: clustered {clusteredSimilarity:F3}, shuffled {shuffledSimilarity:F3}");
        Assert.True(clusteredSimilarity > shuffledSimilarity + 0.05, $"clustered {clusteredSimilarity:F3} vs shuffled {shuffledSimilarity:F3}");
        var first = await store.GetAsync(embeddings.VideoIds[0]);
        Assert.Equal(first.Features.Chunk(TinyRun.FeatureDim).Select(r => r[3]).Average(), embeddings.Vector(0)[3], 1e-5);
    }

    [Fact]
    public async Task FromModel_IsDeterministicAndLeavesTheModelMode()
    {
        var store = new InMemoryVideoStore(TinyRun.Corpus(40, "embed"));
        var options = TinyRun.Options(_dir, epochs: 1);
        random.manual_seed(5);
        using var model = new VideoClipModel(options.Model);
        model.train();

        var first = await VideoEmbedder.FromModelAsync(store, model, options.Streamer, seed: 3, epoch: 2, checkpoint: "test", videosPerBatch: 16);
        var second = await VideoEmbedder.FromModelAsync(store, model, options.Streamer, seed: 3, epoch: 2, checkpoint: "test", videosPerBatch: 7);

        Assert.True(model.training);
        Assert.Equal(40, first.Count);
        Assert.Equal(options.Model.Hidden, first.Dimension);
        Assert.Equal(new EmbeddingLineage(EmbeddingSources.Model, "test", 2), first.Lineage);
        // Batch size changes only how many videos share a forward pass, not any video's vector.
        for (var i = 0; i < first.Count; i++)
        {
            var a = first.Vector(i).ToArray();
            var b = second.Vector(i).ToArray();
            Assert.All(a.Zip(b), p => Assert.Equal(p.First, p.Second, 1e-4));
        }
    }

    [Fact]
    public async Task Trainer_WithClusteredPlans_StillLearnsAndWritesClusteredPlans()
    {
        var train = new InMemoryVideoStore(TinyRun.Corpus(128, "train"));
        var heldOut = new InMemoryVideoStore(TinyRun.Corpus(64, "held"));
        var run = new TinyRun();
        var options = TinyRun.Options(Path.Combine(_dir, "run"), epochs: 3, batchVideos: 16);
        var settings = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("""{ "retri_epoch": 2, "k": 31, "first_epoch": "features" }""");
        var plannerOptions = ClusteredEpochPlannerOptions.FromSettings(settings, Path.Combine(_dir, "run", "embeddings"));
        var planner = new ClusteredEpochPlanner(train, options.Streamer, options.BatchVideos, options.Seed, plannerOptions);
        using var trainer = VideoClipTrainer.Create(options, train, heldOut, planner, run);

        var epochs = await trainer.RunAsync();

        foreach (var e in epochs)
        {
            output.WriteLine($"epoch {e.Epoch}: loss {e.MeanLoss:F3}, R@1 {e.RecallAt1:P1}, R@5 {e.RecallAt5:P1}");
        }

        // Chance is 1/64 ≈ 1.6 %; the shuffled trainer test checks the full learning curve, this one that clustered batches do not stop it.
        Assert.True(epochs[^1].RecallAt1 > 0.15, $"held-out R@1 {epochs[^1].RecallAt1} should be far above chance (1/64)");
        Assert.True(epochs[^1].MeanLoss < epochs[0].MeanLoss, $"loss {epochs[0].MeanLoss} → {epochs[^1].MeanLoss} should fall");
        var plans = new List<BatchPlan>();
        for (var epoch = 0; epoch < 3; epoch++)
        {
            plans.Add(await BatchPlan.ReadAsync(VideoClipTrainer.PlanPath(options.OutputDirectory, epoch)));
        }

        Assert.All(plans, p => Assert.Equal(BatchPlanKinds.Clustered, p.Kind));
        Assert.Equal(128 / 16, plans[0].Batches.Count);
        // retri_epoch 2: epochs 0 and 2 are regenerated (frozen features, then the model), epoch 1 reuses epoch 0's grouping.
        Assert.Equal(plans[0].Batches.SelectMany(b => b), plans[1].Batches.SelectMany(b => b));
        Assert.NotEqual(plans[0].Batches.SelectMany(b => b), plans[2].Batches.SelectMany(b => b));
        Assert.Contains("frozen-features", plans[0].Source, StringComparison.Ordinal);
        Assert.Contains("model", plans[2].Source, StringComparison.Ordinal);
        Assert.True(File.Exists(ClusteredEpochPlanner.EmbeddingsPath(Path.Combine(_dir, "run", "embeddings"), 2)));

        // A fresh planner asked for epoch 3 (a restart) rebuilds the epoch-2 grouping from the kept embeddings.
        var restarted = new ClusteredEpochPlanner(train, options.Streamer, options.BatchVideos, options.Seed, plannerOptions);
        var replanned = await restarted.PlanAsync(3, trainer.Model);
        Assert.Equal(3, replanned.Epoch);
        Assert.Equal(plans[2].Batches.SelectMany(b => b), replanned.Batches.SelectMany(b => b));
    }

    [Fact]
    public void FromSettings_BadKeysAndValues_ThrowNamingTheKey()
    {
        var unknown = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("""{ "retri_epochs": 2 }""");
        Assert.Contains("retrieval.retri_epochs", Assert.Throws<ArgumentException>(() => ClusteredEpochPlannerOptions.FromSettings(unknown)).Message, StringComparison.Ordinal);
        var metric = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("""{ "metric": "manhattan" }""");
        Assert.Contains("retrieval.metric", Assert.Throws<ArgumentException>(() => ClusteredEpochPlannerOptions.FromSettings(metric)).Message, StringComparison.Ordinal);
        var every = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("""{ "retri_epoch": 0 }""");
        Assert.Contains("retri_epoch = 0", Assert.Throws<ArgumentException>(() => ClusteredEpochPlannerOptions.FromSettings(every)).Message, StringComparison.Ordinal);
        var budget = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("""{ "memory_budget": "2GiB", "k": 8, "metric": "cosine" }""");
        var parsed = ClusteredEpochPlannerOptions.FromSettings(budget);
        Assert.Equal((2L << 30, 8, DistanceMetric.Cosine), (parsed.Neighbours.MemoryBudgetBytes, parsed.Neighbours.K, parsed.Neighbours.Metric));
    }
}

public sealed class EpochPlannerFactoryRetrievalTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-planner-factory-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Create_RetrievalEnabled_GivesTheClusteredPlanner()
    {
        var store = new InMemoryVideoStore(TinyRun.Corpus(40, "factory"));
        var enabled = Load("""{ "retrieval": { "enabled": true, "retri_epoch": 2, "k": 8 } }""");
        var disabled = Load("""{ "retrieval": { "enabled": false } }""");

        Assert.IsType<ClusteredEpochPlanner>(EpochPlannerFactory.Create(enabled, store));
        Assert.IsType<ShuffledEpochPlanner>(EpochPlannerFactory.Create(disabled, store));
        var typo = Load("""{ "retrieval": { "enabled": true, "neighbours": 8 } }""");
        Assert.Contains("retrieval.neighbours", Assert.Throws<ArgumentException>(() => EpochPlannerFactory.Create(typo, store)).Message, StringComparison.Ordinal);
    }

    private TrainConfig Load(string json)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return TrainConfig.Load(path);
    }
}
