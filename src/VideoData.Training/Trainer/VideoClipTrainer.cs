using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using VideoData.Features.Runtime;
using VideoData.Training.Data;
using VideoData.Training.Distributed;
using VideoData.Training.Model;
using VideoData.Training.Plans;
using VideoData.Training.Sampling;
using VideoData.Training.Streaming;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace VideoData.Training.Trainer;

/// <summary>
/// The built-in VideoCLIP trainer: per epoch it asks the <see cref="IEpochPlanner"/> for the plan (kept as
/// <c>plans/epoch-NNNN.parquet</c>), streams its batches, and takes one Adam step per batch on the symmetric
/// InfoNCE loss over <c>t·vᵀ</c> and <c>v·tᵀ</c>. Checkpoints hold model, optimizer, RNG and (epoch, step), and a
/// trainer created from one continues the exact trajectory of an uninterrupted run. With an
/// <see cref="ICollective"/> of several ranks (one trainer per process, e.g. under <c>mpirun -np N</c>), each rank
/// trains on its slice of the plan (<see cref="BatchPlan.ForRank"/>) and the gradients and loss are averaged over the
/// ranks before every step, bucket by bucket (<see cref="GradientBuckets"/>); rank 0 alone writes plans and
/// checkpoints, and every rank runs the held-out evaluation (with identical weights, to the same figures).
/// Invariants: every rank starts from rank 0's weights (broadcast at creation) and applies the same averaged
/// gradients, so all hold bit-identical weights after every step; this is checked, not assumed: every
/// <see cref="TrainerOptions.DigestEverySteps"/> steps and at every epoch end the ranks compare a SHA-256 of their
/// parameters and all stop with <see cref="RankDivergenceException"/> when they differ. Not thread-safe.
/// </summary>
internal sealed class VideoClipTrainer : IDisposable
{
    private readonly IVideoStore _train;
    private readonly IVideoStore? _heldOut;
    private readonly IEpochPlanner _planner;
    private readonly ITrainingObserver? _observer;
    private readonly AdamOptimizer _optimizer;
    private readonly List<TorchSharp.Modules.Parameter> _parameters;
    private readonly ICollective _collective;
    private readonly GradientBuckets? _buckets;
    private readonly ComputeHost _host;
    private readonly bool _ownsHost;
    private TrainingState _state;
    private IReadOnlyList<string> _checkpointHistory = [];

    private VideoClipTrainer(TrainerOptions options, IVideoStore train, IVideoStore? heldOut, IEpochPlanner planner, ITrainingObserver? observer, TrainingState state, ICollective collective, ComputeHost host, bool ownsHost)
    {
        _host = host;
        _ownsHost = ownsHost;
        _collective = collective;
        Options = options;
        _train = train;
        _heldOut = heldOut;
        _planner = planner;
        _observer = observer;
        _state = state;
        random.manual_seed(options.Seed);
        if (options.Device is { type: DeviceType.CUDA })
        {
            cuda.manual_seed_all(options.Seed);
        }

        Model = new VideoClipModel(options.Model);
        if (options.Device is not null)
        {
            Model.to(options.Device);
        }

        _parameters = Model.parameters().ToList();
        _optimizer = new AdamOptimizer(_parameters, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        if (options.Rank.WorldSize > 1)
        {
            _buckets = new GradientBuckets(collective, _parameters, options.BucketBytes);
        }
    }

    /// <summary>The validated options.</summary>
    public TrainerOptions Options { get; }

    /// <summary>The model being trained (usable for inference between runs: call <c>eval()</c> and use <c>no_grad</c>).</summary>
    public VideoClipModel Model { get; }

    /// <summary>Where the run stands.</summary>
    public TrainingState State => _state;

    /// <summary>The checkpoint folder this trainer was restored from, or null for a fresh run.</summary>
    public string? ResumedFrom { get; private set; }

    /// <summary>
    /// Why newer checkpoints were passed over on resume (one line each, newest first, naming the checkpoint and the
    /// problem); empty when the newest checkpoint was used. The caller should show these: the run continues from an older step.
    /// </summary>
    public IReadOnlyList<string> ResumeWarnings { get; private set; } = [];

    /// <summary>
    /// Creates a trainer. With <paramref name="resumeFrom"/> (a checkpoint folder, or an output folder whose
    /// newest readable checkpoint is used, see <see cref="ResumeWarnings"/>) it restores model, optimizer, RNG and
    /// position; otherwise it starts fresh from <see cref="TrainerOptions.Seed"/>, and rank 0 refuses an output folder
    /// that already holds a run's checkpoints, plans or embeddings (<see cref="TrainingOutput.EnsureFresh"/>): their plans would be
    /// reused and their checkpoints mixed with the new ones.
    /// </summary>
    /// <param name="options">Trainer options; validated here.</param>
    /// <param name="train">Training videos.</param>
    /// <param name="heldOut">Held-out videos for the per-epoch retrieval evaluation, or null for none.</param>
    /// <param name="planner">Makes each epoch's plan (the seam for clustered plans).</param>
    /// <param name="observer">Receives progress, or null.</param>
    /// <param name="resumeFrom">Checkpoint to continue from, or null.</param>
    /// <param name="collective">
    /// The ranks of a data-parallel run (<see cref="Collectives.Open"/>), or null for one process. Its rank and size
    /// become <see cref="TrainerOptions.Rank"/>; options that name another rank are refused. Every rank must create its
    /// trainer alike (same options, data and resume point): creation itself is a collective (rank 0's weights are
    /// broadcast). The caller keeps ownership of the collective.
    /// </param>
    /// <param name="computeHost">
    /// Where every training step and evaluation pass runs (the caller keeps ownership; dispose the trainer first). Its
    /// intra-op thread count must be <see cref="TrainerOptions.Threads"/> resolved (a run repeats bit for bit only on the
    /// same count). Null: the trainer starts a host of its own on a dedicated thread and disposes it with itself.
    /// </param>
    public static VideoClipTrainer Create(
        TrainerOptions options,
        IVideoStore train,
        IVideoStore? heldOut,
        IEpochPlanner planner,
        ITrainingObserver? observer = null,
        string? resumeFrom = null,
        ICollective? collective = null,
        ComputeHost? computeHost = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(planner);
        collective ??= SingleProcessCollective.Instance;
        var ranks = new TrainingRank(collective.Rank, collective.WorldSize);
        if (options.Rank != TrainingRank.Single && options.Rank != ranks)
        {
            throw new ArgumentException($"Trainer option Rank = {options.Rank}, but the collective ({collective.Description}) makes this process {ranks}; rank and size come from the launcher.", nameof(options));
        }

        options = options with { Rank = ranks };
        options.Validate();
        if (train.FeatureDim != options.Model.FeatureDim)
        {
            throw new ArgumentException($"The training videos have {train.FeatureDim}-d features; the model expects {options.Model.FeatureDim}-d.", nameof(train));
        }

        var threads = IntraOpThreads.Resolve(options.Threads);
        if (computeHost is not null && computeHost.IntraOpThreads != threads)
        {
            throw new ArgumentException(
                $"Trainer option Threads = {options.Threads} asks for {threads} libtorch threads, but the compute host runs {computeHost.IntraOpThreads}; start the host with ComputeHostOptions.IntraOpThreads = {threads}.",
                nameof(computeHost));
        }

        var ownsHost = computeHost is null;
        var host = computeHost ?? ComputeHost.Start(new ComputeHostOptions { IntraOpThreads = threads });
        try
        {
            return CreateOn(host, ownsHost, options, train, heldOut, planner, observer, resumeFrom, collective);
        }
        catch
        {
            if (ownsHost)
            {
                host.Dispose();
            }

            throw;
        }
    }

    private static VideoClipTrainer CreateOn(
        ComputeHost host,
        bool ownsHost,
        TrainerOptions options,
        IVideoStore train,
        IVideoStore? heldOut,
        IEpochPlanner planner,
        ITrainingObserver? observer,
        string? resumeFrom,
        ICollective collective)
    {

        if (resumeFrom is null)
        {
            if (options.Rank.Rank == 0)
            {
                TrainingOutput.EnsureFresh(options.OutputDirectory, logs: false);
            }

            var fresh = new TrainingState(0, 0, 0, options.Seed, options.Rank.Rank, options.Rank.WorldSize, options.Model);
            var started = new VideoClipTrainer(options, train, heldOut, planner, observer, fresh, collective, host, ownsHost);
            started.BroadcastWeights();
            return started;
        }

        var resumePoint = TrainingCheckpoint.Resolve(resumeFrom);
        var checkpoint = resumePoint.Folder;
        var state = TrainingCheckpoint.ReadState(checkpoint);
        if (state.Model != options.Model)
        {
            throw new ArgumentException($"Checkpoint '{checkpoint}' was trained with model sizes {state.Model}; the options ask for {options.Model}.", nameof(resumeFrom));
        }

        if (state.Seed != options.Seed)
        {
            throw new ArgumentException($"Checkpoint '{checkpoint}' was trained with seed {state.Seed}; the options say {options.Seed}.", nameof(resumeFrom));
        }

        if (state.WorldSize != options.Rank.WorldSize)
        {
            throw new ArgumentException(
                $"Checkpoint '{checkpoint}' was trained with world size {state.WorldSize}; this run has {options.Rank.WorldSize}, which would slice the plans differently.",
                nameof(resumeFrom));
        }

        // Rank 0 writes the checkpoints every rank resumes from.
        state = state with { Rank = options.Rank.Rank };
        var trainer = new VideoClipTrainer(options, train, heldOut, planner, observer, state, collective, host, ownsHost);
        TrainingCheckpoint.Restore(checkpoint, trainer.Model, trainer._optimizer);
        trainer.ResumedFrom = checkpoint;
        trainer.ResumeWarnings = resumePoint.Warnings;
        trainer._checkpointHistory = resumePoint.History;
        // Every rank restored the same checkpoint file; the check proves it before any step.
        trainer.CheckRanksAgree("after resuming");
        return trainer;
    }

    /// <summary>
    /// Trains until <see cref="TrainerOptions.Epochs"/> are done, or until <paramref name="stopAtGlobalStep"/>
    /// steps have been taken in total (a checkpoint is saved there, so a later trainer can resume).
    /// Returns the epochs completed by this call.
    /// </summary>
    public async Task<IReadOnlyList<EpochReport>> RunAsync(long? stopAtGlobalStep = null, CancellationToken cancellationToken = default)
    {
        var reports = new List<EpochReport>();
        var streamer = Options.Streamer with { Device = Options.Device };
        while (_state.Epoch < Options.Epochs)
        {
            var epoch = _state.Epoch;
            var plan = (await PlanForAsync(epoch, cancellationToken).ConfigureAwait(false)).ForRank(_state.Rank, _state.WorldSize);
            var steps = 0;
            double lossSum = 0;
            TimeSpan waitSum = TimeSpan.Zero, stepSum = TimeSpan.Zero;

            if (_state.NextStep < plan.Batches.Count)
            {
                var stream = BatchStreamer.StreamAsync(_train, plan, streamer, _state.NextStep, cancellationToken);
                var enumerator = stream.GetAsyncEnumerator(cancellationToken);
                await using (enumerator.ConfigureAwait(false))
                {
                    while (true)
                    {
                        var clock = Stopwatch.StartNew();
                        if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                        {
                            break;
                        }

                        var wait = clock.Elapsed;
                        using var batch = enumerator.Current;
                        var lr = Options.LearningRateAt(_state.GlobalStep);
                        if (_state.WorldSize > 1)
                        {
                            // Ranks' batches may differ in size (a plan's last batch can be short), so their dropout draws
                            // would drift apart and no single checkpointed generator state could resume them all. Seeding
                            // each step from (seed, global step, rank) keeps every rank's dropout reproducible on resume.
                            var stepSeed = (long)(DeterministicRandom.For(Options.Seed, epoch, "trainer.dropout", string.Create(CultureInfo.InvariantCulture, $"{_state.GlobalStep}/{_state.Rank}")).NextUInt64() >> 1);
                            random.manual_seed(stepSeed);
                            if (Options.Device is { type: DeviceType.CUDA })
                            {
                                cuda.manual_seed_all(stepSeed);
                            }
                        }

                        // On the host's thread, whose intra-op thread count was set once: the same count every step, resumed or not.
                        var (loss, reduceTime, threads) = await _host.RunAsync(() => Step(batch, lr), cancellationToken).ConfigureAwait(false);
                        if (Options.DigestEverySteps > 0 && (_state.GlobalStep + 1) % Options.DigestEverySteps == 0)
                        {
                            CheckRanksAgree(string.Create(CultureInfo.InvariantCulture, $"after global step {_state.GlobalStep}"));
                        }

                        var elapsed = clock.Elapsed;
                        var report = new StepReport(epoch, batch.Step, _state.GlobalStep, loss, lr, elapsed, wait, batch.ClipCount) { AllReduceTime = reduceTime, IntraOpThreads = threads };
                        _state = _state with { NextStep = batch.Step + 1, GlobalStep = _state.GlobalStep + 1 };
                        steps++;
                        lossSum += loss;
                        waitSum += wait;
                        stepSum += elapsed;
                        _observer?.OnStep(report);

                        if (stopAtGlobalStep is { } stop && _state.GlobalStep >= stop)
                        {
                            SaveCheckpoint();
                            return reports;
                        }

                        if (Options.CheckpointEverySteps > 0 && _state.GlobalStep % Options.CheckpointEverySteps == 0 && _state.NextStep < plan.Batches.Count)
                        {
                            SaveCheckpoint();
                        }
                    }
                }
            }

            CheckRanksAgree(string.Create(CultureInfo.InvariantCulture, $"at the end of epoch {epoch}"));
            var (r1, r5, clips) = await EvaluateAsync(cancellationToken).ConfigureAwait(false);
            var epochReport = new EpochReport(
                epoch,
                steps,
                steps == 0 ? double.NaN : lossSum / steps,
                stepSum == TimeSpan.Zero ? 0 : waitSum / stepSum,
                r1,
                r5,
                clips);
            reports.Add(epochReport);
            _observer?.OnEpoch(epochReport);
            _state = _state with { Epoch = epoch + 1, NextStep = 0 };
            SaveCheckpoint();
        }

        return reports;
    }

    /// <summary>
    /// Held-out text→video retrieval: one aligned clip per held-out video (at most
    /// <see cref="TrainerOptions.EvalVideos"/>), R@1 and R@5 of each caption's own clip among all clips.
    /// Returns nulls when there is no held-out set.
    /// </summary>
    public async Task<(double? RecallAt1, double? RecallAt5, int Clips)> EvaluateAsync(CancellationToken cancellationToken = default)
    {
        if (_heldOut is null || Options.EvalVideos == 0)
        {
            return (null, null, 0);
        }

        var ids = _heldOut.VideoIds.Order(StringComparer.Ordinal).Take(Options.EvalVideos).ToList();
        var batches = ids.Chunk(64).Select(c => (IReadOnlyList<string>)c).ToList();
        var plan = new BatchPlan(0, Options.Seed, BatchPlanKinds.Shuffled, batches, 64, "held-out evaluation");
        var streamer = Options.Streamer with
        {
            Device = Options.Device,
            Alignment = ClipAlignment.Aligned,
            Sampler = Options.Streamer.Sampler with { ClipsPerVideo = 1 },
            // Evaluation sees whole clips: token dropout is a training-time saving.
            TokenDropout = 0,
        };

        var videos = new List<Tensor>();
        var texts = new List<Tensor>();
        Model.eval();
        try
        {
            await foreach (var batch in BatchStreamer.StreamAsync(_heldOut, plan, streamer, 0, cancellationToken).ConfigureAwait(false))
            {
                // Grad mode is per thread: it is set inside the work, on the host's thread.
                using (batch)
                {
                    var (video, text) = await _host.RunAsync(
                        () =>
                        {
                            using var noGrad = no_grad();
                            return (Model.EncodeVideo(batch.Vfeats, batch.Vmasks), Model.EncodeText(batch.Caps, batch.Cmasks));
                        },
                        cancellationToken).ConfigureAwait(false);
                    videos.Add(video);
                    texts.Add(text);
                }
            }

            var (r1, r5) = await _host.RunAsync(
                () =>
                {
                    using var noGrad = no_grad();
                    using var scope = NewDisposeScope();
                    var v = cat(videos, 0);
                    var t = cat(texts, 0);
                    return RecallAtK(t.mm(v.t()));
                },
                cancellationToken).ConfigureAwait(false);
            return (r1, r5, ids.Count);
        }
        finally
        {
            Model.train();
            videos.ForEach(x => x.Dispose());
            texts.ForEach(x => x.Dispose());
        }
    }

    /// <summary>R@1 and R@5 for a square similarity matrix whose diagonal holds the true pairs (ties count against).</summary>
    internal static (double RecallAt1, double RecallAt5) RecallAtK(Tensor similarity)
    {
        using var scope = NewDisposeScope();
        var diagonal = similarity.diagonal().unsqueeze(1);
        var rank = (similarity > diagonal).sum(1);
        var r1 = (rank < 1).to_type(ScalarType.Float64).mean().item<double>();
        var r5 = (rank < 5).to_type(ScalarType.Float64).mean().item<double>();
        return (r1, r5);
    }

    /// <summary>
    /// Publishes a checkpoint of the current state and returns its folder. In a run of several ranks only rank 0
    /// writes (all hold the same weights); other ranks write nothing and return null.
    /// </summary>
    public string? SaveCheckpoint()
    {
        if (_state.Rank != 0)
        {
            return null;
        }

        var (path, history) = TrainingCheckpoint.Save(Options.OutputDirectory, _state, Model, _optimizer, Options.KeepCheckpoints, _checkpointHistory);
        _checkpointHistory = history;
        _observer?.OnCheckpoint(path);
        return path;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        Model.Dispose();
        if (_ownsHost)
        {
            _host.Dispose();
        }
    }

    private (float Loss, TimeSpan ReduceTime, int Threads) Step(ClipBatch batch, double learningRate)
    {
        using var scope = NewDisposeScope();
        Model.train();
        var video = Model.EncodeVideo(batch.Vfeats, batch.Vmasks, batch.Vpositions);
        var text = Model.EncodeText(batch.Caps, batch.Cmasks);
        var logits = text.mm(video.t());
        var labels = arange(logits.shape[0], ScalarType.Int64, logits.device);
        var loss = SymmetricInfoNce(logits, labels);

        _optimizer.ZeroGrad();
        loss.backward();
        var reduceTime = TimeSpan.Zero;
        var value = loss.item<float>();
        if (_buckets is not null)
        {
            value = _buckets.Average(value, ref reduceTime);
        }

        if (Options.ClipNorm > 0)
        {
            nn.utils.clip_grad_norm_(_parameters, Options.ClipNorm);
        }

        _optimizer.Step(learningRate);
        return (value, reduceTime, get_num_threads());
    }

    /// <summary>The mean of the text→video and video→text cross-entropies over the similarity matrix <paramref name="logits"/>.</summary>
    private static Tensor SymmetricInfoNce(Tensor logits, Tensor labels)
    {
        // An explicit Scalar held until the division returns (see AdamOptimizer on temporary Scalars).
        using var two = 2.ToScalar();
        return (cross_entropy(logits, labels) + cross_entropy(logits.t(), labels)).div(two);
    }

    /// <summary>
    /// Compares the ranks' weight digests (a collective: every rank calls it at the same point) and throws
    /// <see cref="RankDivergenceException"/> on every rank when they differ. Returns this rank's digest.
    /// </summary>
    /// <param name="where">Where the run stands, for the message.</param>
    public string CheckRanksAgree(string where) => WeightDigest.CheckSame(_collective, _parameters, where);

    /// <summary>Makes every rank's weights rank 0's (DDP does the same at start-up), so a rank whose initialisation differed cannot diverge.</summary>
    private void BroadcastWeights()
    {
        if (_state.WorldSize == 1)
        {
            return;
        }

        using var noGrad = no_grad();
        foreach (var parameter in _parameters)
        {
            var values = WeightDigest.HostValues(parameter);
            _collective.Broadcast(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()), 0);
            using var received = tensor(values, ScalarType.Float32).view_as(parameter);
            parameter.copy_(received);
        }

        CheckRanksAgree("after the initial broadcast");
    }

    private async Task<BatchPlan> PlanForAsync(int epoch, CancellationToken cancellationToken)
    {
        var path = PlanPath(Options.OutputDirectory, epoch);
        if (File.Exists(path))
        {
            // A resumed run must train on the plan the interrupted run used, whatever the planner would say now.
            var saved = await BatchPlan.ReadAsync(path, cancellationToken).ConfigureAwait(false);
            await _planner.ResumeEpochAsync(epoch, cancellationToken).ConfigureAwait(false);
            return saved;
        }

        Model.eval();
        BatchPlan plan;
        try
        {
            plan = await _planner.PlanAsync(epoch, Model, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Model.train();
        }

        if (plan.Epoch != epoch)
        {
            throw new InvalidOperationException($"The planner returned a plan for epoch {plan.Epoch} when asked for epoch {epoch}.");
        }

        if (_state.Rank == 0)
        {
            // Every rank computes the same plan; one writes it.
            await BatchPlan.WriteAsync(plan, path, cancellationToken).ConfigureAwait(false);
        }

        return plan;
    }

    /// <summary>Where the trainer keeps the plan of <paramref name="epoch"/>.</summary>
    public static string PlanPath(string outputDirectory, int epoch) =>
        Path.Combine(outputDirectory, "plans", $"epoch-{epoch:D4}.parquet");
}
