using VideoData.Training.Data;
using VideoData.Training.Distributed;
using VideoData.Training.Model;
using VideoData.Training.Retrieval;
using VideoData.Training.Streaming;
using VideoData.Training.Tests.Retrieval;
using VideoData.Training.Tests.Trainer;
using static TorchSharp.torch;

namespace VideoData.Training.Tests.Distributed;

[Collection("TorchSharp training")]
public sealed class CollectivesTests
{
    private static Func<string, string?> Environment(params (string Name, string Value)[] set)
    {
        var values = set.ToDictionary(s => s.Name, s => s.Value, StringComparer.Ordinal);
        return name => values.GetValueOrDefault(name);
    }

    [Fact]
    public void Open_NoLauncher_IsTheSingleProcess()
    {
        using var collective = Collectives.Open(environment: Environment());
        Assert.Same(SingleProcessCollective.Instance, collective);
        Assert.Equal((0, 1), (collective.Rank, collective.WorldSize));
    }

    [Theory]
    [InlineData("WORLD_SIZE", "RANK")]
    [InlineData("SLURM_NTASKS", "SLURM_PROCID")]
    public void Open_SeveralProcessesWithoutMpi_RefusesAndSaysHowToLaunch(string world, string rank)
    {
        var ex = Assert.Throws<NotSupportedException>(() => Collectives.Open(environment: Environment((world, "4"), (rank, "1"))));
        Assert.Contains($"{world} = 4", ex.Message, StringComparison.Ordinal);
        Assert.Contains("mpirun -np 4 videodata train", ex.Message, StringComparison.Ordinal);
        Assert.Contains("srun --mpi=pmix -n 4", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("OMPI_COMM_WORLD_SIZE")]
    [InlineData("PMIX_RANK")]
    [InlineData("PMI_SIZE")]
    public void DetectMpiLaunch_LauncherVariable_IsFound(string name) =>
        Assert.Equal(name, Collectives.DetectMpiLaunch(Environment(("SLURM_NTASKS", "2"), (name, "1"))));

    [Fact]
    public void SingleProcess_CollectivesAreIdentities()
    {
        var collective = SingleProcessCollective.Instance;
        float[] values = [1, 2, 3];
        collective.AllReduceSum(values);
        Assert.Equal([1f, 2f, 3f], values);
        Assert.Equal([[7, 8]], collective.AllGather(new byte[] { 7, 8 }));
        Assert.Equal([[9]], collective.Gather(new byte[] { 9 }, 0)!);
        Assert.Throws<ArgumentOutOfRangeException>(() => collective.Gather(new byte[] { 9 }, 1));
    }

    [Fact]
    public async Task GradientBuckets_ThreeRanksSmallBuckets_EveryGradientAndTheValueBecomeTheMean()
    {
        // Three parameters of 5, 7 and 3 values in buckets of 4 floats: parameters span buckets and the value rides in the last.
        var group = new InProcessGroup(3);
        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(rank => Task.Run(() =>
        {
            using var scope = NewDisposeScope();
            var shapes = new long[][] { [5], [7], [3] };
            var parameters = shapes.Select((shape, p) =>
            {
                var parameter = new TorchSharp.Modules.Parameter(zeros(shape));
                parameter.grad = full(shape, (float)((10 * rank) + p));
                return parameter;
            }).ToList();
            var buckets = new GradientBuckets(group.Ranks[rank], parameters, bucketBytes: 16);
            var elapsed = TimeSpan.Zero;
            var value = buckets.Average(rank * 3f, ref elapsed);
            return (Value: value, Buckets: buckets.LastBuckets, Gradients: parameters.Select(p => p.grad!.data<float>().ToArray()).ToList());
        })));

        foreach (var (value, buckets, gradients) in results)
        {
            Assert.Equal(3f, value); // (0 + 3 + 6) / 3
            Assert.Equal(4, buckets); // 15 gradient values + 1 in buckets of 4
            for (var p = 0; p < 3; p++)
            {
                // ((0 + p) + (10 + p) + (20 + p)) / 3 = 10 + p
                Assert.All(gradients[p], g => Assert.Equal(10f + p, g));
            }
        }
    }

    [Theory]
    [InlineData(2, 5)]
    [InlineData(3, 2)]
    public async Task ClusteredPlans_AcrossRanks_EqualTheSingleProcessPlanOnEveryRank(int ranks, int queryTileRows)
    {
        // 400 videos in batches of 8: 50 queries, in tiles of 5 or 2, shared among the ranks.
        var embeddings = RetrievalTestData.Blobs(400, 24, 6, seed: 9).Embeddings;
        ClusteredPlanOptions Options() => new()
        {
            BatchVideos = 8,
            Seed = 4,
            Epoch = 2,
            Neighbours = new NearestNeighbourOptions { K = 12, QueryTileRows = queryTileRows, DatabaseTileRows = 64 },
        };
        var single = ClusteredPlans.Build(embeddings, Options());
        var group = new InProcessGroup(ranks);
        var plans = await Task.WhenAll(Enumerable.Range(0, ranks).Select(r => Task.Run(() => ClusteredPlans.Build(embeddings, Options(), group.Ranks[r]))));
        Assert.All(plans, plan => Assert.Equal(single.Batches, plan.Batches));
        Assert.Equal(50, single.Batches.Count);
    }

    [Fact]
    public async Task EmbeddingsAcrossRanks_EachRankEmbedsItsShare_EveryRankGetsTheSameWholeTable()
    {
        var store = new InMemoryVideoStore(TinyRun.Corpus(21, "share"));
        var options = TinyRun.Options(Path.GetTempPath(), 1);
        random.manual_seed(5);
        using var model = new VideoClipModel(options.Model);
        var single = await VideoEmbedder.FromModelAsync(store, model, options.Streamer, 5, 1, videosPerBatch: 4);
        var group = new InProcessGroup(3);
        var tables = new VideoEmbeddings[3];
        // Ranks run one at a time up to the gather (they share this process's model and libtorch), then meet there.
        var tasks = new List<Task>();
        for (var r = 0; r < 3; r++)
        {
            var rank = r;
            tasks.Add(Task.Run(async () => tables[rank] = await VideoEmbedder.FromModelAcrossRanksAsync(store, model, options.Streamer, 5, 1, group.Ranks[rank], videosPerBatch: 4)));
            await Task.WhenAny(group.Entered(r), tasks[^1]);
        }

        await Task.WhenAll(tasks);
        Assert.All(tables, t => Assert.Equal(single.VideoIds, t.VideoIds));
        Assert.All(tables, t => Assert.Equal(tables[0].Vectors.ToArray(), t.Vectors.ToArray()));
        var worst = single.Vectors.ToArray().Zip(tables[0].Vectors.ToArray(), (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < 1e-5, $"largest difference from the single-process table {worst}");
    }
}
