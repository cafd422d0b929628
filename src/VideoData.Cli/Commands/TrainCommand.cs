using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using VideoData.Storage.Blobs;
using VideoData.Training.Data;
using VideoData.Training.Plans;
using VideoData.Training.Trainer;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata train</c>: the built-in VideoCLIP trainer over a training pipeline file.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config")
        {
            Description = "Training pipeline file: pipelines/videoclip-tiny.json (tiny model, CPU, under a minute on a synthetic corpus), "
                + "pipelines/videoclip-demo.json (tiny model on the shards `videodata demo` writes) or pipelines/videoclip-reference.json (the published shape, GPU).",
            HelpName = "FILE",
            Required = true,
        };
        var output = new Option<string?>("--output") { Description = "Output folder for plans, checkpoints and train-log.jsonl [default: the config's \"output\"].", HelpName = "DIR" };
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
            Description = "This process's rank: it takes plan batches rank, rank+W, … (every rank the same count; a last incomplete round is dropped) "
                + "[default: RANK, SLURM_PROCID, OMPI_COMM_WORLD_RANK or PMI_RANK, else 0].",
            HelpName = "R",
        };
        var worldSize = new Option<int?>("--world-size")
        {
            Description = "Number of ranks sharing each epoch's plan [default: WORLD_SIZE, SLURM_NTASKS, OMPI_COMM_WORLD_SIZE or PMI_SIZE, else 1]. "
                + "With more than one, the ranks train data-parallel: before each step rank 0 averages every rank's gradients over TCP (see --rendezvous), "
                + "so all keep the same weights; rank 0 alone writes plans, checkpoints and train-log.jsonl (others train-log.rank-R.jsonl), so OUTPUT must be "
                + "a folder every rank sees. Meant for small models and one node: the exchange goes through rank 0, it is not NCCL.",
            HelpName = "W",
        };
        var rendezvous = new Option<string?>("--rendezvous")
        {
            Description = "HOST:PORT where rank 0 listens for the other ranks' gradients when --world-size is above 1 "
                + "[default: MASTER_ADDR:MASTER_PORT as torchrun sets them, MASTER_PORT defaulting to 29500].",
            HelpName = "HOST:PORT",
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
            + "  torchrun-style, 2 ranks on one machine (OUTPUT shared):\n"
            + "    RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 videodata train --config C &\n"
            + "    RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 videodata train --config C")
        {
            config, output, shards, heldOut, epochs, seed, device, threads, resume, stopAfter, rank, worldSize, rendezvous, dataOnly, digests, tensorboard,
        };
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

                string? meetAt = null;
                if (me.WorldSize > 1 && !rehearse)
                {
                    meetAt = parseResult.GetValue(rendezvous) ?? RendezvousFromEnvironment()
                        ?? throw new ArgumentException(
                            $"world size {me.WorldSize} (from {rankSource}): the ranks average their gradients through rank 0, so they need its address: "
                            + "pass --rendezvous HOST:PORT (the same on every rank) or set MASTER_ADDR and MASTER_PORT. To check each rank's data without "
                            + "training, use --data-only.");
                    if (loaded.Retrieval.Enabled)
                    {
                        throw new NotSupportedException(
                            $"world size {me.WorldSize}: clustered plans (retrieval.enabled) are made from the model's embeddings on each rank, and nothing "
                            + "guarantees bit-identical embeddings on every machine; train data-parallel with shuffled plans, or with world size 1.");
                    }
                }

                if (rehearse && parseResult.GetValue(resume))
                {
                    throw new ArgumentException("--resume trains; it cannot be combined with --data-only.");
                }

                var options = loaded.ToTrainerOptions() with { Device = ResolveDevice(loaded.Device), Rank = rehearse ? TrainingRank.Single : me, Rendezvous = meetAt };
                options.Validate();
                var data = await OpenDataAsync(loaded, options.Model.FeatureDim, cancellationToken).ConfigureAwait(false);
                await using var ownerScope = data.Owner.ConfigureAwait(false);
                if (data.Skipped.WithoutCaptions.Count > 0)
                {
                    Console.WriteLine($"train {loaded.Name}: {data.Skipped.Describe()}");
                }

                if (rehearse)
                {
                    var digestPath = parseResult.GetValue(digests)?.Replace("{rank}", me.Rank.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
                    return await RehearseAsync(loaded, options, data.Train, me, rankSource, digestPath is null ? null : new FileInfo(digestPath), cancellationToken).ConfigureAwait(false);
                }

                return await TrainAsync(loaded, options, data, parseResult.GetValue(resume), parseResult.GetValue(stopAfter), cancellationToken, parseResult.GetValue(tensorboard)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or NotSupportedException or KeyNotFoundException or FormatException or BlobStoreException or VideoData.Core.Failures.VideoDataException)
            {
                Console.Error.WriteLine($"videodata train: {file.FullName}: {ex.Message}");
                return 2;
            }
        });
        return command;
    }

    private static async Task<int> TrainAsync(TrainConfig loaded, TrainerOptions options, TrainingData data, bool resume, long? stopAfter, CancellationToken cancellationToken, string? tensorboard = null)
    {
        var planner = EpochPlannerFactory.Create(loaded, data.Train);
        Directory.CreateDirectory(options.OutputDirectory);
        var logName = options.Rank.Rank == 0 ? "train-log.jsonl" : $"train-log.rank-{options.Rank.Rank}.jsonl";
        using var log = new StreamWriter(Path.Combine(options.OutputDirectory, logName), append: true);
        var observer = new ConsoleObserver(log);
        if (data.Skipped.WithoutCaptions.Count > 0)
        {
            observer.Write(new { kind = "skipped", reason = "no captions", count = data.Skipped.WithoutCaptions.Count, of = data.Skipped.Screened, video_ids = data.Skipped.WithoutCaptions });
        }

        string? resumeFrom = resume ? options.OutputDirectory : null;
        Console.WriteLine(
            $"train {loaded.Name}: {data.Train.VideoIds.Count} videos, {data.HeldOut?.VideoIds.Count ?? 0} held out, "
            + $"{options.BatchVideos}×{options.Streamer.Sampler.ClipsPerVideo} clips per batch, model {loaded.Model.Preset}, device {loaded.Device}, output {options.OutputDirectory}"
            + (options.Rank.WorldSize > 1 ? $", {options.Rank} (gradients averaged through {options.Rendezvous})" : string.Empty));
        ITrainingObserver observers = observer;
        if (tensorboard is not null && options.Rank.Rank == 0)
        {
            var board = new TensorBoardObserver(tensorboard);
            Console.WriteLine($"TensorBoard event files in {board.LogDir} (tensorboard --logdir {tensorboard})");
            observers = new FanOutObserver(observer, board);
        }

        using var trainer = VideoClipTrainer.Create(options, data.Train, data.HeldOut, planner, observers, resumeFrom);
        if (resumeFrom is not null)
        {
            Console.WriteLine($"resumed at epoch {trainer.State.Epoch}, step {trainer.State.NextStep} (global step {trainer.State.GlobalStep})");
        }

        await trainer.RunAsync(stopAfter, cancellationToken).ConfigureAwait(false);
        if (options.Rank.WorldSize > 1)
        {
            Console.WriteLine($"{options.Rank}: weights sha256 {WeightsDigest(trainer.Model)} (the same on every rank)");
        }

        return 0;
    }

    private static string WeightsDigest(torch.nn.Module model)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var parameter in model.parameters())
        {
            using var host = parameter.detach().cpu().contiguous();
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(host.data<float>().ToArray().AsSpan()));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
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

    /// <summary>torchrun's MASTER_ADDR:MASTER_PORT, or null when MASTER_ADDR is unset.</summary>
    private static string? RendezvousFromEnvironment()
    {
        var host = Environment.GetEnvironmentVariable("MASTER_ADDR");
        if (string.IsNullOrWhiteSpace(host))
        {
            return null;
        }

        var port = Environment.GetEnvironmentVariable("MASTER_PORT");
        return $"{host.Trim()}:{(string.IsNullOrWhiteSpace(port) ? "29500" : port.Trim())}";
    }

    private static torch.Device? ResolveDevice(string text)
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
    private static async Task<TrainingData> OpenDataAsync(TrainConfig config, int featureDim, CancellationToken cancellationToken)
    {
        if (config.Data.Shards is { } shards)
        {
            var resolver = new BlobStoreResolver(new BlobStoreOptions());
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
    private sealed record TrainingData(IVideoStore Train, IVideoStore? HeldOut, PlannableVideos Skipped, IAsyncDisposable Owner);

    /// <summary>What must outlive the training run: the shard readers and the storage clients behind them.</summary>
    private sealed class Owner(FeatureShardVideoStore? store, BlobStoreResolver? resolver) : IAsyncDisposable
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

    private sealed class ConsoleObserver(StreamWriter log) : ITrainingObserver
    {
        public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

        public void OnStep(StepReport r)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"epoch {r.Epoch} step {r.Step} (global {r.GlobalStep}): loss {r.Loss:F4}  lr {r.LearningRate:E2}  step {r.StepTime.TotalMilliseconds:F1} ms  data wait {r.DataWait.TotalMilliseconds:F2} ms"));
            Write(new { kind = "step", r.Epoch, r.Step, r.GlobalStep, r.Loss, r.LearningRate, step_ms = r.StepTime.TotalMilliseconds, data_wait_ms = r.DataWait.TotalMilliseconds, r.Clips });
        }

        public void OnEpoch(EpochReport r)
        {
            var recall = r.RecallAt1 is null ? "no held-out set" : string.Create(CultureInfo.InvariantCulture, $"held-out R@1 {r.RecallAt1:P1}  R@5 {r.RecallAt5:P1} over {r.EvalClips} clips (chance {1.0 / r.EvalClips:P1})");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {r.Epoch} done: {r.Steps} steps, mean loss {r.MeanLoss:F4}, data wait {r.DataWaitShare:P2} of step time, {recall}"));
            Write(new { kind = "epoch", r.Epoch, r.Steps, r.MeanLoss, r.DataWaitShare, r.RecallAt1, r.RecallAt5, r.EvalClips });
        }

        public void OnCheckpoint(string path)
        {
            Console.WriteLine($"checkpoint {path}");
            Write(new { kind = "checkpoint", path });
        }

        public void Write(object entry)
        {
            log.WriteLine(JsonSerializer.Serialize(entry, Json));
            log.Flush();
        }
    }
}
