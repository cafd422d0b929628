using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using VideoData.Features.Runtime;
using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Training.Data;
using VideoData.Training.Distributed;
using VideoData.Training.Plans;
using VideoData.Training.Trainer;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata train</c>: the built-in VideoCLIP trainer over a training pipeline file.</summary>
internal static class TrainCommand
{
    /// <param name="computeThread">The thread training steps run on (the CLI's main thread); null: a dedicated one.</param>
    public static Command Create(ComputeThread? computeThread = null)
    {
        var config = new Option<FileInfo>("--config")
        {
            Description = "Training pipeline file: pipelines/videoclip-tiny.json (tiny model, CPU, under a minute on a synthetic corpus), "
                + "pipelines/videoclip-demo.json (tiny model on the shards `videodata demo` writes) or pipelines/videoclip-reference.json (the published shape, GPU).",
            HelpName = "FILE",
            Required = true,
        };
        var output = new Option<string?>("--output") { Description = "Output folder for plans, checkpoints and train-log.jsonl, or a store location (s3://bucket/run/: staged locally, pushed after every checkpoint, pulled by --resume) [default: the config's \"output\"].", HelpName = "DIR" };
        var shards = new Option<string?>("--shards")
        {
            Description = "Feature shards to train on, a folder (out/demo/features/shards) or a URI (s3://bucket/features/shards/) [default: the config's \"data.shards\"; "
                + "none means its synthetic corpus]. Videos without captions are skipped when the plan is built, and counted.",
            HelpName = "PATH|URI",
        };
        var heldOut = new Option<int?>("--held-out-videos")
        {
            Description = "Videos held out of the shards for the per-epoch R@1/R@5 (0: no evaluation) [default: the config's \"data.held_out_videos\"].",
            HelpName = "N",
        };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs to train [default: the config's \"epochs\"].", HelpName = "N" };
        var seed = new Option<long?>("--seed") { Description = "Run seed for model init, dropout, plans and clip sampling [default: the config's \"seed\"].", HelpName = "N" };
        var device = new Option<string?>("--device") { Description = "cpu, cuda or cuda:N [default: the config's \"device\"].", HelpName = "DEVICE" };
        var threads = new Option<int?>("--threads")
        {
            Description = "libtorch intra-op threads, 0 = one per core [default: the config's \"threads\"]. Resume with the same count to continue bit for bit.",
            HelpName = "N",
        };
        var resume = new Option<bool>("--resume")
        {
            Description = "Continue from the newest checkpoint in the output folder (model, optimizer, RNG, epoch and step), on exactly the trajectory of an uninterrupted run.",
        };
        var stopAfter = new Option<long?>("--stop-after-steps")
        {
            Description = "Stop (with a checkpoint) once this many optimizer steps have been taken in total; resume later with --resume.",
            HelpName = "N",
        };
        var rank = new Option<int?>("--rank")
        {
            Description = "With --data-only: this process's rank; it takes plan batches rank, rank+W, … (every rank the same count; a last incomplete round is dropped) "
                + "[default: RANK, SLURM_PROCID, OMPI_COMM_WORLD_RANK or PMI_RANK, else 0]. Training takes its rank from MPI (see --world-size).",
            HelpName = "R",
        };
        var worldSize = new Option<int?>("--world-size")
        {
            Description = "With --data-only: number of ranks sharing each epoch's plan [default: WORLD_SIZE, SLURM_NTASKS, OMPI_COMM_WORLD_SIZE or PMI_SIZE, else 1]. "
                + "Data-parallel training is launched by MPI instead: `mpirun -np N videodata train ...` or `srun --mpi=pmix -n N videodata train ...`; rank and size "
                + "then come from MPI, gradients are averaged by MPI all-reduce in 32 MiB buckets, the ranks' weights are compared every 100 steps and at epoch ends, "
                + "and rank 0 alone writes plans, checkpoints and train-log.jsonl (others train-log.rank-R.jsonl), so OUTPUT must be a folder every rank sees.",
            HelpName = "W",
        };
        var collectiveTimeout = new Option<int>("--collective-timeout")
        {
            Description = "Seconds one MPI collective may wait for the other ranks before the whole job is ended with an error naming the operation "
                + "(a rank that hangs or was stopped; one that dies is usually reported sooner by mpirun).",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => (int)Collectives.DefaultTimeout.TotalSeconds,
        };
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON summary of the run on stdout when it ends (rank 0 only) and the human-readable log on stderr.",
        };
        var dataOnly = new Option<bool>("--data-only")
        {
            Description = "Stream this rank's batches of every epoch exactly as training would (plan, clips, tensors on the device) without a model, "
                + "and print batch counts and batches/s: checks a distributed launch's data and measures the input pipeline. Uses the trainer's plan "
                + "files in OUTPUT/plans/ where they exist, else the seeded shuffle the trainer would make; writes nothing to the output folder.",
        };
        var tensorboard = new Option<string?>("--tensorboard")
        {
            Description = "Also write TensorBoard event files (loss, learning rate, step time, data wait per step; recall per epoch) into DIR; open with `tensorboard --logdir DIR`. Rank 0 only.",
            HelpName = "DIR",
        };
        var digests = new Option<string?>("--digests")
        {
            Description = "With --data-only: write one JSON line per batch (epoch, step, plan_batch, video ids, SHA-256 of the batch's clips) to FILE, "
                + "to compare runs or process counts bit for bit; {rank} in FILE becomes this process's rank.",
            HelpName = "FILE",
        };
        var command = new Command(
            "train",
            "Trains the built-in VideoCLIP-shaped model: per epoch a batch plan (shuffled, or clustered when retrieval is enabled) is written to "
            + "OUTPUT/plans/, overlapped clips are sampled and streamed as ready tensors, and each batch takes one Adam step on the symmetric "
            + "InfoNCE loss. Logs per step loss, learning rate, step time and data-wait time; per epoch held-out text→video R@1/R@5 "
            + "(console and OUTPUT/train-log.jsonl); checkpoints go to OUTPUT/checkpoints/.\n\n"
            + "Examples:\n"
            + "  videodata train --config pipelines/videoclip-tiny.json                      # tiny model, synthetic corpus, CPU\n"
            + "  videodata demo && videodata train --config pipelines/videoclip-demo.json    # tiny model on the demo's shards\n"
            + "  videodata train --config pipelines/videoclip-tiny.json --shards out/demo/features/shards --held-out-videos 2\n"
            + "  videodata train --config pipelines/videoclip-tiny.json --stop-after-steps 20   # stop with a checkpoint at step 20\n"
            + "  videodata train --config pipelines/videoclip-tiny.json --resume                # ...and continue where it stopped\n"
            + "  videodata train --config pipelines/videoclip-reference.json --device cuda --shards s3://bucket/features/shards/\n"
            + "  srun -n 4 videodata train --config C --data-only --digests 'digests-{rank}.jsonl'   # each Slurm task streams its slice\n"
            + "  mpirun -np 2 videodata train --config C                  # data-parallel on 2 ranks (OUTPUT shared)\n"
            + "  srun --mpi=pmix -n 8 videodata train --config C          # the same under Slurm")
        {
            config, output, shards, heldOut, epochs, seed, device, threads, resume, stopAfter, rank, worldSize, collectiveTimeout, json, dataOnly, digests, tensorboard,
        };
        var finish = FinishOptions.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var file = parseResult.GetValue(config)!;
            try
            {
                var loaded = TrainConfig.Load(file.FullName);
                loaded = loaded with
                {
                    Output = parseResult.GetValue(output) ?? loaded.Output,
                    Epochs = parseResult.GetValue(epochs) ?? loaded.Epochs,
                    Seed = parseResult.GetValue(seed) ?? loaded.Seed,
                    Device = parseResult.GetValue(device) ?? loaded.Device,
                    Threads = parseResult.GetValue(threads) ?? loaded.Threads,
                    Data = loaded.Data with
                    {
                        Shards = parseResult.GetValue(shards) ?? loaded.Data.Shards,
                        HeldOutVideos = parseResult.GetValue(heldOut) ?? loaded.Data.HeldOutVideos,
                    },
                };
                loaded.ToTrainerOptions();
                var (me, rankSource) = TrainingRank.Resolve(parseResult.GetValue(rank), parseResult.GetValue(worldSize));
                var rehearse = parseResult.GetValue(dataOnly);
                if (!rehearse && parseResult.GetValue(digests) is not null)
                {
                    throw new ArgumentException("--digests needs --data-only.");
                }

                if (rehearse && IsUri(loaded.Output))
                {
                    throw new NotSupportedException(
                        $"--data-only reads the trainer's plans from a local output folder, and '{loaded.Output}' is a store location: "
                        + "copy its plans/ to a local folder and pass that as --output.");
                }

                if (rehearse && parseResult.GetValue(resume))
                {
                    throw new ArgumentException("--resume trains; it cannot be combined with --data-only.");
                }

                if (!rehearse && (parseResult.GetValue(rank) is not null || parseResult.GetValue(worldSize) is not null))
                {
                    throw new ArgumentException(
                        "--rank and --world-size only apply to --data-only; training takes its rank and size from MPI: launch it with "
                        + "`mpirun -np N videodata train ...` or `srun --mpi=pmix -n N videodata train ...`.");
                }

                var timeoutSeconds = parseResult.GetValue(collectiveTimeout);
                if (timeoutSeconds < 1)
                {
                    throw new ArgumentException($"--collective-timeout {timeoutSeconds} must be at least 1 second.");
                }

                var options = loaded.ToTrainerOptions() with { Device = ResolveDevice(loaded.Device) };
                options.Validate();
                var data = await OpenDataAsync(loaded, options.Model.FeatureDim, cancellationToken).ConfigureAwait(false);
                await using var ownerScope = data.Owner.ConfigureAwait(false);
                if (data.Skipped.WithoutCaptions.Count > 0)
                {
                    (parseResult.GetValue(json) ? Console.Error : Console.Out).WriteLine($"train {loaded.Name}: {data.Skipped.Describe()}");
                }

                if (rehearse)
                {
                    if (loaded.Alignment.Enabled)
                    {
                        // Aligning needs the model being trained; a data-only pass has none.
                        Console.Error.WriteLine("videodata train: warning: --data-only streams the original captions; \"alignment\" re-times them only in a training run.");
                    }

                    var digestPath = parseResult.GetValue(digests)?.Replace("{rank}", me.Rank.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
                    return await RehearseAsync(loaded, options, data.Train, me, rankSource, digestPath is null ? null : new FileInfo(digestPath), cancellationToken).ConfigureAwait(false);
                }

                // Opened last, once the inputs are known good, and closed (MPI_Finalize) only after a clean run.
                var collective = Collectives.Open(TimeSpan.FromSeconds(timeoutSeconds));
                int code;
                try
                {
                    code = await TrainAsync(computeThread, loaded, options, data, collective, parseResult.GetValue(resume), parseResult.GetValue(stopAfter), parseResult.GetValue(json), finish.Read(parseResult, parseResult.GetValue(resume)), parseResult.GetValue(tensorboard), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (collective.WorldSize > 1)
                {
                    // The other ranks would wait for this one in their next collective: end the whole job now, saying why.
                    Console.Error.WriteLine($"videodata train: {file.FullName}: rank {collective.Rank} of {collective.WorldSize} failed, ending every rank: {ex.GetType().Name}: {ex.Message}");
                    collective.Abort(ex is RankDivergenceException ? 3 : 2);
                    throw;
                }

                collective.Dispose();
                return code;
            }
            catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
            {
                return CommandFailures.Report("train", file.FullName, ex, 2);
            }
        });
        return command;
    }

    private static async Task<int> TrainAsync(ComputeThread? computeThread, TrainConfig loaded, TrainerOptions options, TrainingData data, ICollective collective, bool resume, long? stopAfter, bool json, FinishOptions.Values finish, string? tensorboard, CancellationToken cancellationToken)
    {
        options = options with { Rank = new TrainingRank(collective.Rank, collective.WorldSize) };
        using var resolver = IsUri(loaded.Output) ? new BlobStoreResolver(new BlobStoreOptions { S3 = new VideoData.Storage.S3.S3StoreOptions().ApplyEnvironment() }) : null;
        RemoteTrainingOutput? remote = null;
        if (resolver is not null)
        {
            // An output in a store: the trainer works in a local staging folder (one per rank) that is pushed to the store
            // after every checkpoint and at the end, and pulled from it before a resume (RemoteTrainingOutput's invariants).
            var reference = resolver.Resolve(loaded.Output.EndsWith('/') ? loaded.Output : loaded.Output + "/");
            var staging = RemoteTrainingOutput.StagingFolderFor(loaded.Output) + (options.Rank.WorldSize > 1 ? $"-rank-{options.Rank.Rank}" : string.Empty);
            remote = new RemoteTrainingOutput(reference.Store, reference.Key, staging);
            if (resume)
            {
                await remote.PullAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (options.Rank.Rank == 0)
            {
                var removed = await remote.PrepareFreshAsync(finish.Overwrite, cancellationToken).ConfigureAwait(false);
                if (removed.Count > 0)
                {
                    (json ? Console.Error : Console.Out).WriteLine($"--overwrite: removed the previous run's {string.Join(", ", removed)} from {remote.Uri}");
                }
            }
            else
            {
                remote.ClearStaging();
            }

            loaded = loaded with { Output = remote.Staging };
            options = options with { OutputDirectory = remote.Staging };
        }

        var (planner, trainVideos) = EpochPlannerFactory.CreateForTraining(loaded, data.Train, collective);
        if (!resume && options.Rank.Rank == 0 && remote is null)
        {
            // Before the log is opened: the old run's log is part of what --overwrite removes.
            FinishOptions.PrepareFreshOutput(options.OutputDirectory, finish.Overwrite, json ? Console.Error : Console.Out);
        }

        Directory.CreateDirectory(options.OutputDirectory);
        var logName = options.Rank.Rank == 0 ? "train-log.jsonl" : $"train-log.rank-{options.Rank.Rank}.jsonl";
        using var log = new StreamWriter(Path.Combine(options.OutputDirectory, logName), append: true);
        var human = json ? Console.Error : Console.Out;
        var observer = new ConsoleObserver(log, human);
        if (data.Skipped.WithoutCaptions.Count > 0)
        {
            observer.Write(new { kind = "skipped", reason = "no captions", count = data.Skipped.WithoutCaptions.Count, of = data.Skipped.Screened, video_ids = data.Skipped.WithoutCaptions });
        }

        string? resumeFrom = resume ? options.OutputDirectory : null;
        human.WriteLine(
            $"train {loaded.Name}: {data.Train.VideoIds.Count} videos, {data.HeldOut?.VideoIds.Count ?? 0} held out, "
            + $"{options.BatchVideos}×{options.Streamer.Sampler.ClipsPerVideo} clips per batch, model {loaded.Model.Preset}, device {loaded.Device}, "
            + (remote is null ? $"output {options.OutputDirectory}" : $"output {remote.Uri} (staged in {remote.Staging})")
            + (options.Rank.WorldSize > 1 ? $", {options.Rank} (gradients averaged by {collective.Description})" : string.Empty));
        ITrainingObserver observers = observer;
        if (tensorboard is not null && options.Rank.Rank == 0)
        {
            var board = new TensorBoardObserver(tensorboard);
            human.WriteLine($"TensorBoard event files in {board.LogDir} (tensorboard --logdir {tensorboard})");
            observers = new FanOutObserver(observer, board);
        }

        if (remote is not null && options.Rank.Rank == 0)
        {
            // Last: the checkpoint's log line is written before the push that uploads the log.
            observers = new FanOutObserver(observers, remote);
        }

        // Every step on the lent thread, with the trainer's libtorch thread count set there once.
        using var host = ComputeHost.Start(new ComputeHostOptions { IntraOpThreads = IntraOpThreads.Resolve(options.Threads) }, computeThread);
        using var trainer = VideoClipTrainer.Create(options, trainVideos, data.HeldOut, planner, observers, resumeFrom, collective, host);
        if (resumeFrom is not null)
        {
            foreach (var warning in trainer.ResumeWarnings)
            {
                Console.Error.WriteLine($"videodata train: warning: {warning}");
                observer.Write(new { kind = "warning", message = warning });
            }

            human.WriteLine($"resumed at epoch {trainer.State.Epoch}, step {trainer.State.NextStep} (global step {trainer.State.GlobalStep})");
        }

        var epochs = await trainer.RunAsync(stopAfter, cancellationToken).ConfigureAwait(false);
        var digest = trainer.CheckRanksAgree("at the end of the run");
        if (options.Rank.Rank == 0)
        {
            FinishOptions.Export(trainer, finish, observer.Write, human);
            if (remote is not null)
            {
                await remote.PushAsync(cancellationToken).ConfigureAwait(false);
                human.WriteLine($"output pushed to {remote.Uri}");
            }
        }

        if (options.Rank.WorldSize > 1)
        {
            human.WriteLine($"{options.Rank}: weights sha256 {digest} (the same on every rank)");
        }

        if (json && options.Rank.Rank == 0)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(
                new
                {
                    command = "train",
                    name = loaded.Name,
                    output = remote?.Uri ?? options.OutputDirectory,
                    world_size = options.Rank.WorldSize,
                    collective = collective.Description,
                    bucket_bytes = options.BucketBytes,
                    epoch = trainer.State.Epoch,
                    global_step = trainer.State.GlobalStep,
                    steps = observer.Steps,
                    mean_step_ms = observer.Steps == 0 ? 0 : observer.StepTime.TotalMilliseconds / observer.Steps,
                    mean_all_reduce_ms = observer.Steps == 0 ? 0 : observer.AllReduceTime.TotalMilliseconds / observer.Steps,
                    all_reduce_share = observer.StepTime == TimeSpan.Zero ? 0 : observer.AllReduceTime / observer.StepTime,
                    last_loss = observer.LastLoss,
                    epochs = epochs.Select(e => new { e.Epoch, e.Steps, e.MeanLoss, e.DataWaitShare, e.RecallAt1, e.RecallAt5, e.EvalClips }),
                    last_checkpoint = observer.LastCheckpoint,
                    weights_sha256 = digest,
                },
                ConsoleObserver.Json));
        }

        return 0;
    }

    /// <summary>--data-only: each epoch's plan (the trainer's plan file when one exists, else the seeded shuffle), this rank's slice, streamed and fingerprinted.</summary>
    private static async Task<int> RehearseAsync(TrainConfig loaded, TrainerOptions options, IVideoStore train, TrainingRank me, string rankSource, FileInfo? digestFile, CancellationToken cancellationToken)
    {
        var streamer = options.Streamer with { Device = options.Device };
        Console.WriteLine(
            $"train {loaded.Name} --data-only: {me} (from {rankSource}), {train.VideoIds.Count} videos, "
            + $"{options.BatchVideos}×{options.Streamer.Sampler.ClipsPerVideo} clips per batch, device {loaded.Device}");
        StreamWriter? digestLog = null;
        if (digestFile is not null)
        {
            Directory.CreateDirectory(digestFile.DirectoryName ?? ".");
            digestLog = new StreamWriter(digestFile.FullName, append: false);
        }

        await using (digestLog)
        {
            for (var epoch = 0; epoch < options.Epochs; epoch++)
            {
                var path = VideoClipTrainer.PlanPath(options.OutputDirectory, epoch);
                BatchPlan plan;
                if (File.Exists(path))
                {
                    plan = await BatchPlan.ReadAsync(path, cancellationToken).ConfigureAwait(false);
                }
                else if (loaded.Retrieval.Enabled)
                {
                    throw new NotSupportedException(
                        $"retrieval is enabled, so epoch {epoch}'s plan is clustered with the model being trained, and '{path}' (written by a training run) does not exist yet.");
                }
                else
                {
                    plan = BatchPlan.Shuffled(train.VideoIds, options.BatchVideos, options.Seed, epoch);
                }

                var clock = Stopwatch.StartNew();
                int steps = 0, clips = 0;
                await foreach (var digest in DataRehearsal.StreamAsync(train, plan, me, streamer, cancellationToken).ConfigureAwait(false))
                {
                    steps++;
                    clips += digest.Clips;
                    if (digestLog is not null)
                    {
                        await digestLog.WriteLineAsync(JsonSerializer.Serialize(
                            new { digest.Epoch, digest.Step, digest.PlanBatch, me.Rank, me.WorldSize, digest.Clips, digest.Sha256, digest.VideoIds },
                            ConsoleObserver.Json)).ConfigureAwait(false);
                    }
                }

                var seconds = clock.Elapsed.TotalSeconds;
                var dropped = plan.Batches.Count - (steps * me.WorldSize);
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"epoch {epoch}: {me}: {steps} of the plan's {plan.Batches.Count} batches ({clips} clips{(dropped > 0 ? $"; {(dropped == 1 ? "the plan's last batch is" : $"the plan's last {dropped} batches are")} not a whole round of {me.WorldSize} and no rank trains on {(dropped == 1 ? "it" : "them")}" : string.Empty)}) "
                    + $"in {seconds:F2} s, {steps / Math.Max(seconds, 1e-9):F1} batches/s"));
            }
        }

        return 0;
    }

    internal static torch.Device? ResolveDevice(string text)
    {
        if (text == "cpu")
        {
            return null;
        }

        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
            {
                throw new NotSupportedException($"device '{text}' was asked for, but libtorch sees no CUDA device (this build uses the TorchSharp-{torch.__version__} CPU backend or no GPU is present).");
            }

            return torch.device(text);
        }

        throw new ArgumentException($"device '{text}' is not cpu, cuda or cuda:N.");
    }

    /// <summary>
    /// Opens the shards (or generates the synthetic corpus), leaves out videos without captions, and splits off the
    /// held-out videos. Screening comes before the split so neither part holds a video that cannot be sampled.
    /// </summary>
    internal static async Task<TrainingData> OpenDataAsync(TrainConfig config, int featureDim, CancellationToken cancellationToken)
    {
        if (config.Data.Shards is { } shards)
        {
            // S3 shards are reached with the same environment settings as every other command (VIDEODATA_S3_*, AWS_*); train has no S3 flags.
            var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = new VideoData.Storage.S3.S3StoreOptions().ApplyEnvironment() });
            FeatureShardVideoStore? store = null;
            try
            {
                var (blobs, key) = resolver.Resolve(shards);
                var prefix = key.Length == 0 || key.EndsWith('/') ? key : key + "/";
                store = await FeatureShardVideoStore.OpenAsync(blobs, prefix, new FeatureShardStoreOptions { FeatureDim = featureDim, CacheBytes = config.Data.CacheBytes, DiskCacheDirectory = config.Data.DiskCache }, cancellationToken).ConfigureAwait(false);
                var (_, withoutCaptions) = await ShardCaptionCensus.CountAsync(blobs, prefix, cancellationToken).ConfigureAwait(false);
                var screened = PlannableVideos.Exclude(store, withoutCaptions);
                var (train, heldOut) = VideoStoreSplit.Split(screened.Store, config.Data.HeldOutVideos);
                return new TrainingData(train, heldOut, screened, new Owner(store, resolver));
            }
            catch
            {
                await new Owner(store, resolver).DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        var synthetic = config.Data.Synthetic;
        var trainSet = await PlannableVideos.ScreenAsync(new InMemoryVideoStore(SyntheticCorpus.Generate(synthetic.ToOptions(featureDim, heldOut: false))), cancellationToken: cancellationToken).ConfigureAwait(false);
        var heldOutSet = synthetic.HeldOutVideos > 0 ? new InMemoryVideoStore(SyntheticCorpus.Generate(synthetic.ToOptions(featureDim, heldOut: true))) : null;
        return new TrainingData(trainSet.Store, heldOutSet, trainSet, new Owner(null, null));
    }

    /// <summary>The videos a run trains and evaluates on, what was left out, and what must be disposed after the run.</summary>
    internal sealed record TrainingData(IVideoStore Train, IVideoStore? HeldOut, PlannableVideos Skipped, IAsyncDisposable Owner);

    /// <summary>What must outlive the training run: the shard readers and the storage clients behind them.</summary>
    internal sealed class Owner(FeatureShardVideoStore? store, BlobStoreResolver? resolver) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            if (store is not null)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }

            resolver?.Dispose();
        }
    }

    private static bool IsUri(string output) => output.Contains("://", StringComparison.Ordinal);

    private sealed class ConsoleObserver(StreamWriter log, TextWriter human) : ITrainingObserver
    {
        public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

        public int Steps { get; private set; }

        public TimeSpan StepTime { get; private set; }

        public TimeSpan AllReduceTime { get; private set; }

        public float? LastLoss { get; private set; }

        public string? LastCheckpoint { get; private set; }

        public void OnStep(StepReport r)
        {
            Steps++;
            StepTime += r.StepTime;
            AllReduceTime += r.AllReduceTime;
            LastLoss = r.Loss;
            human.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"epoch {r.Epoch} step {r.Step} (global {r.GlobalStep}): loss {r.Loss:F4}  lr {r.LearningRate:E2}  step {r.StepTime.TotalMilliseconds:F1} ms  data wait {r.DataWait.TotalMilliseconds:F2} ms"));
            Write(new { kind = "step", r.Epoch, r.Step, r.GlobalStep, r.Loss, r.LearningRate, step_ms = r.StepTime.TotalMilliseconds, data_wait_ms = r.DataWait.TotalMilliseconds, all_reduce_ms = r.AllReduceTime.TotalMilliseconds, r.Clips });
        }

        public void OnEpoch(EpochReport r)
        {
            var recall = r.RecallAt1 is null ? "no held-out set" : string.Create(CultureInfo.InvariantCulture, $"held-out R@1 {r.RecallAt1:P1}  R@5 {r.RecallAt5:P1} over {r.EvalClips} clips (chance {1.0 / r.EvalClips:P1})");
            human.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {r.Epoch} done: {r.Steps} steps, mean loss {r.MeanLoss:F4}, data wait {r.DataWaitShare:P2} of step time, {recall}"));
            // An epoch resumed at its end trains no step: its mean loss is NaN, which JSON cannot hold, so the log says null.
            Write(new { kind = "epoch", r.Epoch, r.Steps, MeanLoss = r.Steps == 0 ? (double?)null : r.MeanLoss, r.DataWaitShare, r.RecallAt1, r.RecallAt5, r.EvalClips });
        }

        public void OnCheckpoint(string path)
        {
            LastCheckpoint = path;
            human.WriteLine($"checkpoint {path}");
            Write(new { kind = "checkpoint", path });
        }

        public void Write(object entry)
        {
            log.WriteLine(JsonSerializer.Serialize(entry, Json));
            log.Flush();
        }
    }
}
