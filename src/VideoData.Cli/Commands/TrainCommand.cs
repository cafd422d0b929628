using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using VideoData.Storage.Blobs;
using VideoData.Training.Data;
using VideoData.Training.Trainer;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata train</c>: the built-in VideoCLIP trainer over a training pipeline file.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config")
        {
            Description = "Training pipeline file, e.g. pipelines/videoclip-tiny.json (CPU, seconds) or pipelines/videoclip-reference.json (GPU, the published shape).",
            Required = true,
        };
        var output = new Option<string?>("--output") { Description = "Output folder for plans, checkpoints and train-log.jsonl; overrides the config's \"output\"." };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs to train; overrides the config's \"epochs\"." };
        var seed = new Option<long?>("--seed") { Description = "Run seed (model init, dropout, plans, clip sampling); overrides the config's \"seed\"." };
        var device = new Option<string?>("--device") { Description = "cpu, cuda or cuda:N; overrides the config's \"device\"." };
        var resume = new Option<bool>("--resume")
        {
            Description = "Continue from the newest checkpoint in the output folder (model, optimizer, RNG, epoch and step), on exactly the trajectory of an uninterrupted run.",
        };
        var stopAfter = new Option<long?>("--stop-after-steps")
        {
            Description = "Stop (with a checkpoint) once this many optimizer steps have been taken in total; resume later with --resume.",
        };
        var command = new Command(
            "train",
            "Trains the built-in VideoCLIP-shaped model: per epoch a batch plan (shuffled, or clustered when retrieval is enabled) is written to "
            + "OUTPUT/plans/, overlapped clips are sampled and streamed as ready tensors, and each batch takes one Adam step on the symmetric "
            + "InfoNCE loss. Logs per step loss, learning rate, step time and data-wait time; per epoch held-out text→video R@1/R@5.")
        {
            config, output, epochs, seed, device, resume, stopAfter,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var file = parseResult.GetValue(config)!;
            TrainConfig loaded;
            try
            {
                loaded = TrainConfig.Load(file.FullName);
                loaded = loaded with
                {
                    Output = parseResult.GetValue(output) ?? loaded.Output,
                    Epochs = parseResult.GetValue(epochs) ?? loaded.Epochs,
                    Seed = parseResult.GetValue(seed) ?? loaded.Seed,
                    Device = parseResult.GetValue(device) ?? loaded.Device,
                };
                var options = loaded.ToTrainerOptions() with { Device = ResolveDevice(loaded.Device) };
                var (train, heldOut, owner) = await OpenDataAsync(loaded, options.Model.FeatureDim, cancellationToken).ConfigureAwait(false);
                await using var ownerScope = owner.ConfigureAwait(false);
                var planner = EpochPlannerFactory.Create(loaded, train);
                Directory.CreateDirectory(options.OutputDirectory);
                using var log = new StreamWriter(Path.Combine(options.OutputDirectory, "train-log.jsonl"), append: true);
                var observer = new ConsoleObserver(log);
                string? resumeFrom = parseResult.GetValue(resume) ? options.OutputDirectory : null;
                Console.WriteLine(
                    $"train {loaded.Name}: {train.VideoIds.Count} videos, {heldOut?.VideoIds.Count ?? 0} held out, "
                    + $"{options.BatchVideos}×{options.Streamer.Sampler.ClipsPerVideo} clips per batch, model {loaded.Model.Preset}, device {loaded.Device}, output {options.OutputDirectory}");
                using var trainer = VideoClipTrainer.Create(options, train, heldOut, planner, observer, resumeFrom);
                if (resumeFrom is not null)
                {
                    Console.WriteLine($"resumed at epoch {trainer.State.Epoch}, step {trainer.State.NextStep} (global step {trainer.State.GlobalStep})");
                }

                await trainer.RunAsync(parseResult.GetValue(stopAfter), cancellationToken).ConfigureAwait(false);
                return 0;
            }
            catch (Exception ex) when (ex is InvalidDataException or FileNotFoundException or ArgumentException or NotSupportedException or KeyNotFoundException or FormatException or BlobStoreException or VideoData.Core.Failures.VideoDataException)
            {
                Console.Error.WriteLine($"videodata train: {file.FullName}: {ex.Message}");
                return 2;
            }
        });
        return command;
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

    private static async Task<(IVideoStore Train, IVideoStore? HeldOut, IAsyncDisposable Owner)> OpenDataAsync(TrainConfig config, int featureDim, CancellationToken cancellationToken)
    {
        if (config.Data.Shards is { } shards)
        {
            var resolver = new BlobStoreResolver(new BlobStoreOptions());
            var (blobs, key) = resolver.Resolve(shards);
            var prefix = key.Length == 0 || key.EndsWith('/') ? key : key + "/";
            var store = await FeatureShardVideoStore.OpenAsync(blobs, prefix, new FeatureShardStoreOptions { FeatureDim = featureDim, CacheBytes = config.Data.CacheBytes, DiskCacheDirectory = config.Data.DiskCache }, cancellationToken).ConfigureAwait(false);
            var (train, heldOut) = VideoStoreSplit.Split(store, config.Data.HeldOutVideos);
            return (train, heldOut, new Owner(store, resolver));
        }

        var synthetic = config.Data.Synthetic;
        var trainSet = new InMemoryVideoStore(SyntheticCorpus.Generate(synthetic.ToOptions(featureDim, heldOut: false)));
        var heldOutSet = synthetic.HeldOutVideos > 0 ? new InMemoryVideoStore(SyntheticCorpus.Generate(synthetic.ToOptions(featureDim, heldOut: true))) : null;
        return (trainSet, heldOutSet, new Owner(null, null));
    }

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
        private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

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

        private void Write(object entry)
        {
            log.WriteLine(JsonSerializer.Serialize(entry, s_json));
            log.Flush();
        }
    }
}
