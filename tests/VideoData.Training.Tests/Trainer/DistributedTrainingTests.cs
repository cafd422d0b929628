using System.Net;
using System.Net.Sockets;
using VideoData.Training.Data;
using VideoData.Training.Model;
using VideoData.Training.Plans;
using VideoData.Training.Streaming;
using VideoData.Training.Trainer;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace VideoData.Training.Tests.Trainer;

[Collection("TorchSharp training")]
public sealed class DistributedTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-ddp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    // Rank `rank` of two in one process, batches of 4, no dropout (the ranks would share libtorch's generator), no evaluation.
    private static TrainerOptions TwoRankOptions(string output, int epochs, int rank, int port) =>
        TinyRun.Options(output, epochs, batchVideos: 4) with
        {
            Model = TinyRun.Options(output, 1).Model with { Dropout = 0 },
            EvalVideos = 0,
            Rank = new TrainingRank(rank, 2),
            Rendezvous = $"127.0.0.1:{port}",
            RendezvousTimeout = TimeSpan.FromMinutes(2),
        };

    private static float[] Weights(VideoClipModel model) =>
        model.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    [Fact]
    public async Task RunAsync_TwoRanks_KeepIdenticalWeightsEqualToAveragingTheirTwoBatchesGradients()
    {
        // Several ranks block on each other inside a step; give the pool threads for the ranks and their assemblers.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), io);
        var train = new InMemoryVideoStore(TinyRun.Corpus(40, "ddp"));
        var output = Path.Combine(_dir, "shared");
        var port = FreePort();
        TrainerOptions Options(int rank) => TwoRankOptions(output, epochs: 1, rank, port);

        var runs = new[] { new TinyRun(), new TinyRun() };
        // Created one after the other: each seeds libtorch's global generator and initialises its model from it.
        using var rank0 = runs[0].Create(Options(0), train, null);
        using var rank1 = runs[1].Create(Options(1), train, null);
        await Task.WhenAll(Task.Run(() => rank1.RunAsync()), Task.Run(() => rank0.RunAsync()));

        // 40 videos in batches of 4: 10 plan batches, 5 steps per rank, each on its own batch, one shared loss.
        Assert.All(runs, r => Assert.Equal(5, r.Steps.Count));
        Assert.Equal(runs[0].Steps.Select(s => s.Loss), runs[1].Steps.Select(s => s.Loss));
        Assert.Equal(Weights(rank0.Model), Weights(rank1.Model));
        Assert.NotEmpty(runs[0].Checkpoints);
        Assert.Empty(runs[1].Checkpoints);

        // The oracle: one process, one model, each step the mean of the gradients of plan batches 2s and 2s+1.
        var options = Options(0);
        random.manual_seed(options.Seed);
        using var model = new VideoClipModel(options.Model);
        var parameters = model.parameters().ToList();
        using var adam = optim.Adam(parameters, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        var plan = BatchPlan.Shuffled(train.VideoIds, 4, options.Seed, 0);
        var batches = new List<ClipBatch>();
        await foreach (var batch in BatchStreamer.StreamAsync(train, plan, options.Streamer))
        {
            batches.Add(batch);
        }

        var losses = new List<float>();
        model.train();
        for (var step = 0; step < 5; step++)
        {
            using var scope = NewDisposeScope();
            var grads = new List<Tensor>[2];
            float lossSum = 0;
            for (var half = 0; half < 2; half++)
            {
                var b = batches[(2 * step) + half];
                adam.zero_grad();
                var logits = model.EncodeText(b.Caps, b.Cmasks).mm(model.EncodeVideo(b.Vfeats, b.Vmasks).t());
                var labels = arange(logits.shape[0], ScalarType.Int64);
                var loss = (cross_entropy(logits, labels) + cross_entropy(logits.t(), labels)) / 2;
                loss.backward();
                lossSum += loss.item<float>();
                grads[half] = parameters.Select(p => p.grad!.detach().clone()).ToList();
            }

            for (var i = 0; i < parameters.Count; i++)
            {
                using var noGrad = no_grad();
                parameters[i].grad!.copy_((grads[0][i] + grads[1][i]) / 2);
            }

            nn.utils.clip_grad_norm_(parameters, options.ClipNorm);
            foreach (var group in adam.ParamGroups)
            {
                group.LearningRate = options.LearningRateAt(step);
            }

            adam.step();
            losses.Add(lossSum / 2);
        }

        batches.ForEach(b => b.Dispose());
        var expected = Weights(model);
        var actual = Weights(rank0.Model);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst < 1e-4, $"largest weight difference from the oracle {worst}");
        Assert.All(losses.Zip(runs[0].Steps.Select(s => s.Loss)), p => Assert.Equal(p.First, p.Second, 4));
        // And the weights really moved: the oracle is not trivially equal to the initial model.
        random.manual_seed(options.Seed);
        using var initial = new VideoClipModel(options.Model);
        Assert.True(Weights(initial).Zip(expected, (a, b) => Math.Abs(a - b)).Max() > 1e-3);
    }

    [Fact]
    public async Task RunAsync_TwoRanksResumedMidEpoch_FollowTheUninterruptedTrajectory()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), io);
        // 38 videos in batches of 4: the plan's last batch is short, so the ranks' batches differ in size. Dropout is off:
        // both ranks share this process's libtorch generator here (as processes they do not; the CLI test covers that).
        var train = new InMemoryVideoStore(TinyRun.Corpus(38, "ddp-resume"));

        async Task<(TinyRun Rank0, TinyRun Rank1, float[] Weights)> RunAsync(string output, long? stopAt, bool resume)
        {
            var port = FreePort();
            TrainerOptions Options(int rank) => TwoRankOptions(output, epochs: 2, rank, port);
            var runs = new[] { new TinyRun(), new TinyRun() };
            using var rank0 = runs[0].Create(Options(0), train, null, resume ? output : null);
            using var rank1 = runs[1].Create(Options(1), train, null, resume ? output : null);
            await Task.WhenAll(Task.Run(() => rank1.RunAsync(stopAt)), Task.Run(() => rank0.RunAsync(stopAt)));
            Assert.Equal(Weights(rank0.Model), Weights(rank1.Model));
            return (runs[0], runs[1], Weights(rank0.Model));
        }

        var straight = await RunAsync(Path.Combine(_dir, "straight"), null, resume: false);
        var interrupted = Path.Combine(_dir, "interrupted");
        var first = await RunAsync(interrupted, 3, resume: false);
        var second = await RunAsync(interrupted, null, resume: true);

        Assert.Equal(10, straight.Rank0.Steps.Count);
        Assert.Equal(3, first.Rank0.Steps.Count);
        // Bit for bit: the resumed ranks continue exactly. (Float-tolerance differences seen here before were TorchSharp's
        // optimizer reading coefficients a concurrent collection had freed; see AdamOptimizer.)
        Assert.Equal(straight.Rank0.Steps.Select(s => s.Loss), first.Rank0.Steps.Concat(second.Rank0.Steps).Select(s => s.Loss));
        Assert.Equal(straight.Weights, second.Weights);
    }

    [Fact]
    public void GradientExchange_HubNeverComes_FailsNamingTheAddressAfterTheTimeout()
    {
        var port = FreePort();
        using var exchange = GradientExchange.Create(new TrainingRank(1, 2), "127.0.0.1", port, TimeSpan.FromSeconds(1));
        var ex = Assert.Throws<IOException>(() => exchange.Average(new float[3]));
        Assert.Contains($"127.0.0.1:{port}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GradientExchange_ThreeRanks_EveryRankGetsTheMean()
    {
        var port = FreePort();
        var exchanges = Enumerable.Range(0, 3).Select(r => GradientExchange.Create(new TrainingRank(r, 3), "127.0.0.1", port, TimeSpan.FromSeconds(30))).ToList();
        try
        {
            var vectors = Enumerable.Range(0, 3).Select(r => new[] { r, 10f * r, -3f }).ToArray();
            await Task.WhenAll(Enumerable.Range(0, 3).Select(r => Task.Factory.StartNew(() => exchanges[r].Average(vectors[r]), TaskCreationOptions.LongRunning)));
            Assert.All(vectors, v => Assert.Equal([1f, 10f, -3f], v));
        }
        finally
        {
            exchanges.ForEach(e => e.Dispose());
        }
    }

    [Fact]
    public void Create_SeveralRanksWithoutRendezvous_ThrowsNamingTheOption()
    {
        var train = new InMemoryVideoStore(TinyRun.Corpus(8, "ddp-bad"));
        var ex = Assert.Throws<ArgumentException>(() => new TinyRun().Create(TinyRun.Options(_dir, 1) with { Rank = new TrainingRank(1, 2) }, train, null));
        Assert.Contains("Rendezvous", ex.Message, StringComparison.Ordinal);
    }
}
