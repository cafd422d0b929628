using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Spectre.Console;
using VideoData.Cli.Progress;
using VideoData.Features.Runtime;
using VideoData.Pipeline.Definition;
using VideoData.Pipeline.Run;
using VideoData.Storage.Manifests;
using VideoData.Storage.Sharding;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata preprocess</c>: this worker's share of turning a corpus into feature shards.</summary>
internal static class PreprocessCommand
{
    /// <param name="computeThread">The thread the encoder's libtorch work runs on (the CLI's main thread); null: a dedicated one.</param>
    public static Command Create(ComputeThread? computeThread = null)
    {
        var options = new PreprocessOptions();
        var command = new Command(
            "preprocess",
            "Turns a corpus into Parquet feature shards: manifest -> deterministic shards -> fetch -> decode (30 fps, 224 crop) -> "
            + "S3D-G features -> captions -> shards, with a ledger per shard. Safe to rerun or kill at any moment: completed "
            + "shards are skipped, done videos are not redone, failed videos are retried up to --max-retries; Ctrl+C (SIGINT) stops "
            + "cleanly with exit code 130, publishing nothing partial. Run one per worker (--shard-index/--shard-count, or "
            + "Slurm/Kubernetes environment variables). Memory is bounded by stages.decoded_seconds_capacity, "
            + "encoder.seconds_per_batch and encoder.native_mmap_threshold_mib (see --print-config), never by video length. "
            + "Settings, highest precedence first: flags (dedicated flags and --set, last one wins) > environment (VIDEODATA_S3_ENDPOINT "
            + "or AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION or AWS_DEFAULT_REGION, VIDEODATA_S3_PATH_STYLE, VIDEODATA_S3_CHUNK_ENCODING, "
            + "VIDEODATA_S3_CHECKSUM, VIDEODATA_S3_MAX_CONCURRENCY, VIDEODATA_S3_PART_SIZE_MIB; SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX "
            + "for the worker) > --pipeline file > built-in defaults. Streams: standard output carries the result (with --progress json only "
            + "JSON lines: progress records, then the summary); log lines and errors go to standard error.");
        options.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            PipelineDefinition definition;
            WorkerSlot worker;
            try
            {
                definition = options.Load(parseResult);
                if (parseResult.GetValue(options.PrintConfig))
                {
                    Console.WriteLine(PipelineDefinitionLoader.ToJson(definition));
                    return 0;
                }

                worker = WorkerSlot.Resolve(parseResult.GetValue(options.ShardIndex), options.FlagShardCount(parseResult), definition.ShardCount);
            }
            catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
            {
                return CommandFailures.Report("preprocess", null, ex, 2);
            }

            return await RunAsync(definition, worker, parseResult.GetValue(options.RetryFailed), parseResult.GetValue(options.Progress), computeThread, cancellationToken, progressInterval: parseResult.GetValue(options.ProgressInterval)).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Runs the job with progress and prints the summary; shared with <c>videodata demo</c>.</summary>
    /// <param name="finish">
    /// When given, called with the summary instead of printing it (and instead of <paramref name="after"/>); its result is the exit
    /// code. <c>videodata features</c> uses it to publish its one shard file and print its own summary.
    /// </param>
    /// <param name="command">The command name that prefixes error lines.</param>
    internal static async Task<int> RunAsync(PipelineDefinition definition, WorkerSlot worker, bool retryFailed, ProgressMode mode, ComputeThread? computeThread, CancellationToken cancellationToken, Action<PreprocessSummary>? after = null, double progressInterval = 10, Func<PreprocessSummary, PipelineProgress, CancellationToken, Task<int>>? finish = null, string command = "preprocess")
    {
        var progress = new PipelineProgress();
        var display = new PipelineProgressDisplay(progress, mode, TimeSpan.FromSeconds(Math.Clamp(progressInterval, 0.1, 3600)));

        // Ctrl+C (SIGINT) and a scheduler's SIGTERM (Slurm preemption, Kubernetes eviction) stop the run cleanly: every
        // stage winds down, nothing partial is published, and the same command resumes. A second signal ends the process
        // at once (the default action), for a run that does not stop fast enough.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var signal = 0;
        void OnSignal(PosixSignalContext context)
        {
            if (Interlocked.CompareExchange(ref signal, context.Signal == PosixSignal.SIGTERM ? 143 : 130, 0) == 0)
            {
                context.Cancel = true;
                stop.Cancel();
            }
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        PreprocessSummary summary;
        try
        {
            summary = await display.RunAsync(() => Preprocessor.RunAsync(definition, worker, retryFailed, progress, display.Log, computeThread, stop.Token)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.Error.WriteLine($"videodata {command}: stopped; nothing partial was published. Run the same command again to resume.");
            return signal == 0 ? 130 : signal;
        }
        catch (Exception ex) when (CommandFailures.IsInputFailure(ex))
        {
            return CommandFailures.Report(command, null, ex, 1);
        }

        if (finish is not null)
        {
            return await finish(summary, progress, stop.Token).ConfigureAwait(false);
        }

        Print(summary, progress, display.Mode);
        after?.Invoke(summary);
        return 0;
    }

    private static void Print(PreprocessSummary summary, PipelineProgress progress, ProgressMode mode)
    {
        if (mode == ProgressMode.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                @event = "summary",
                output = summary.Output,
                worker = summary.Worker.ToString(),
                manifest_videos = summary.ManifestVideos,
                shards = summary.Shards,
                done = summary.Done,
                failed = summary.Failed,
                failures_by_class = summary.FailuresByClass,
                seconds_encoded = progress.SecondsEncoded,
                video_seconds_per_second = Math.Round(progress.VideoSecondsPerSecond, 3),
                storage_requests = summary.Storage.Requests,
                storage_retries = summary.Storage.Retries,
                random_weights = summary.RandomWeights,
            }, PipelineProgressDisplay.JsonOptions));
            return;
        }

        var table = new Table().Border(TableBorder.Rounded).Title("[bold]summary[/]").HideHeaders();
        table.AddColumn("what");
        table.AddColumn("value");
        table.AddRow("output", Markup.Escape(summary.Output));
        table.AddRow("worker", $"{summary.Worker} ({summary.Shards} shards of a {summary.ManifestVideos}-video manifest)");
        table.AddRow("videos", $"[green]{summary.Done} with features[/], [red]{summary.Failed} failed[/]");
        foreach (var (failureClass, count) in summary.FailuresByClass)
        {
            table.AddRow($"  failed: {failureClass}", count.ToString(CultureInfo.InvariantCulture));
        }

        table.AddRow("this run", $"{progress.SecondsEncoded} s of video encoded at {progress.VideoSecondsPerSecond.ToString("0.00", CultureInfo.InvariantCulture)} video-s/s in {progress.Elapsed:hh\\:mm\\:ss}");
        table.AddRow("storage", $"{summary.Storage.Requests} requests, {summary.Storage.Retries} retries, {summary.Storage.Throttles} throttles");
        if (summary.RandomWeights)
        {
            table.AddRow("[yellow]weights[/]", "[yellow]random (features are not meaningful; pass --weights s3d_howto100m.pth)[/]");
        }

        AnsiConsole.Write(table);
        Console.WriteLine($"shards: {summary.Output}shards/   ledgers: {summary.Output}ledger/   stats: {summary.Output}stats/");
    }

    /// <summary>The pipeline options shared by <c>preprocess</c> and <c>demo</c>.</summary>
    internal sealed class PreprocessOptions
    {
        public Option<string?> Pipeline { get; } = new("--pipeline") { Description = "Pipeline definition file (pipelines/howto100m.json, pipelines/demo.json). Without it, built-in defaults (the reference settings) apply." };

        public Option<string?> Manifest { get; } = new("--manifest") { Description = "Corpus manifest (CSV, JSON Lines or Parquet; path or s3:// URI) with a video_id column and uri/caption_uri or --uri-template." };

        public Option<string?> UriTemplate { get; } = new("--uri-template") { Description = "Video URI template, e.g. s3://bucket/videos/{video_id}.mp4 (when the manifest has no uri column)." };

        public Option<string?> Output { get; } = new("--output") { Description = "Where shards, ledgers and stats go: a folder or an s3://bucket/prefix." };

        public Option<string?> Weights { get; } = new("--weights") { Description = "S3D-G weights: s3d_howto100m.pth (PyTorch zip) or .safetensors. Without weights, random weights are used and the features are not meaningful." };

        public Option<string?> Device { get; } = new("--device") { Description = "Encoder device: cpu or cuda." };

        public Option<string?> Decoder { get; } = new("--decoder") { Description = "Decoder: auto (NVDEC when usable, else CPU), cpu or cuda." };

        public Option<int?> ShardSize { get; } = new("--shard-size") { Description = "Videos per shard (default 4096)." };

        public Option<int?> ShardIndex { get; } = new("--shard-index") { Description = "This worker's index (default: SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX, else 0)." };

        public Option<int?> ShardCount { get; } = new("--shard-count") { Description = "Number of workers (default: SLURM_ARRAY_TASK_COUNT, else shard_count from the pipeline, else 1)." };

        public Option<int?> MaxRetries { get; } = new("--max-retries") { Description = "Retry a failed video in later runs until it has been tried this many extra times (default 2)." };

        public Option<bool> RetryFailed { get; } = new("--retry-failed") { Description = "Retry every failed video, whatever its attempt count." };

        public Option<string[]> Set { get; } = new("--set") { Description = "Override any pipeline field: --set decode.fps=25 --set stages.decode_parallelism=4 (repeatable). Beats the environment and the pipeline file.", AllowMultipleArgumentsPerToken = false };

        public Option<double> ProgressInterval { get; } = new("--progress-interval") { Description = "Seconds between JSON progress records (non-interactive output).", DefaultValueFactory = _ => 10 };

        public Option<bool> PrintConfig { get; } = new("--print-config") { Description = "Print the effective configuration (file, then environment, then flags) as JSON and exit." };

        public Option<ProgressMode> Progress { get; } = new("--progress") { Description = "auto (live table on a terminal, JSON lines otherwise), live, json (standard output: JSON lines only; logs on standard error) or none.", DefaultValueFactory = _ => ProgressMode.Auto };

        /// <summary>The encoder and shard-format flags, shared with <c>videodata features</c>.</summary>
        public EncodingFlags Encoding { get; } = new();

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Pipeline, Manifest, UriTemplate, Output, Weights, Device, Decoder, ShardSize, ShardIndex, ShardCount, MaxRetries, RetryFailed, Set, PrintConfig, Progress, ProgressInterval })
            {
                command.Options.Add(option);
            }

            Encoding.AddTo(command);
        }

        /// <summary>The definition from the file (or defaults) with the flags applied as overrides, validated.</summary>
        public PipelineDefinition Load(ParseResult parseResult, IEnumerable<string>? defaults = null)
        {
            var overrides = new List<string>(defaults ?? []);
            void Add(string field, string? value)
            {
                if (value is not null)
                {
                    overrides.Add($"{field}={JsonSerializer.Serialize(value)}");
                }
            }

            Add("manifest", parseResult.GetValue(Manifest));
            Add("uri_template", parseResult.GetValue(UriTemplate));
            Add("output", parseResult.GetValue(Output));
            Add("encoder.weights", parseResult.GetValue(Weights));
            Add("encoder.device", parseResult.GetValue(Device));
            Add("decode.decoder", parseResult.GetValue(Decoder));
            Encoding.AddOverrides(parseResult, overrides);
            if (parseResult.GetValue(ShardSize) is { } size)
            {
                overrides.Add($"shard_size={size}");
            }

            if (parseResult.GetValue(MaxRetries) is { } retries)
            {
                overrides.Add($"max_retries={retries}");
            }

            if (parseResult.GetValue(ShardCount) is { } count)
            {
                overrides.Add($"shard_count={count}");
            }

            overrides.AddRange(parseResult.GetValue(Set) ?? []);
            return PipelineDefinitionLoader.Load(parseResult.GetValue(Pipeline), Environment.GetEnvironmentVariable, overrides);
        }

        /// <summary>
        /// The worker count the flags give: <c>--shard-count</c>, else the last <c>--set shard_count=N</c>; null when neither
        /// does. Flags beat the scheduler's environment (SLURM_ARRAY_TASK_COUNT), which beats the pipeline file.
        /// </summary>
        public int? FlagShardCount(ParseResult parseResult)
        {
            if (parseResult.GetValue(ShardCount) is { } count)
            {
                return count;
            }

            int? fromSet = null;
            foreach (var assignment in parseResult.GetValue(Set) ?? [])
            {
                var equals = assignment.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0 && assignment[..equals].Trim() == "shard_count")
                {
                    fromSet = int.TryParse(assignment[(equals + 1)..].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                        ? value
                        : throw new ArgumentException($"--set {assignment}: shard_count must be an integer.");
                }
            }

            return fromSet;
        }
    }

    /// <summary>
    /// Flags for pipeline fields that <c>preprocess</c> and <c>features</c> share: how the encoder runs and how its features are
    /// stored. Each one is a dedicated flag for one field, so it takes the flags' place in the precedence (beats the
    /// environment and the pipeline file; among the flags, <c>--set</c> given later wins). A flag not given leaves the field alone.
    /// </summary>
    internal sealed class EncodingFlags
    {
        public Option<int?> SecondsPerBatch { get; } = new("--seconds-per-batch") { Description = "encoder.seconds_per_batch: seconds of video per encoder forward pass, batched across videos (1–1024; default 16)." };

        public Option<int?> Threads { get; } = new("--threads") { Description = "encoder.threads: libtorch intra-op threads; 0 leaves libtorch's default (the core count)." };

        public Option<bool> Mixed5c { get; } = new("--mixed-5c") { Description = "encoder.mixed_5c=true: also store the 1024-d mean-pooled mixed_5c activations per second." };

        public Option<bool> NoL2Normalize { get; } = new("--no-l2-normalize") { Description = "encoder.normalize=false: store raw video_embedding rows instead of L2-normalized ones (the reference normalizes)." };

        public Option<string?> FeatureDtype { get; } = new("--feature-dtype")
        {
            Description = "encoder.feature_dtype: float16 (default; values rounded to float16 precision as the reference stores them, still written as float32) or float32 (full precision).",
        };

        public Option<int?> VideosPerRowGroup { get; } = new("--videos-per-row-group")
        {
            Description = "videos_per_row_group: videos per Parquet row group of the shard. Only 1 is supported (the publish copies each video's row group from the work segments); reading one video reads one row group.",
        };

        public EncodingFlags() => FeatureDtype.AcceptOnlyFromAmong("float16", "float32");

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { SecondsPerBatch, Threads, Mixed5c, NoL2Normalize, FeatureDtype, VideosPerRowGroup })
            {
                command.Options.Add(option);
            }
        }

        /// <summary>Appends one <c>field=value</c> override per flag given.</summary>
        public void AddOverrides(ParseResult parseResult, List<string> overrides)
        {
            if (parseResult.GetValue(SecondsPerBatch) is { } batch)
            {
                overrides.Add(string.Create(CultureInfo.InvariantCulture, $"encoder.seconds_per_batch={batch}"));
            }

            if (parseResult.GetValue(Threads) is { } threads)
            {
                overrides.Add(string.Create(CultureInfo.InvariantCulture, $"encoder.threads={threads}"));
            }

            if (parseResult.GetValue(Mixed5c))
            {
                overrides.Add("encoder.mixed_5c=true");
            }

            if (parseResult.GetValue(NoL2Normalize))
            {
                overrides.Add("encoder.normalize=false");
            }

            if (parseResult.GetValue(FeatureDtype) is { } dtype)
            {
                overrides.Add($"encoder.feature_dtype={JsonSerializer.Serialize(dtype)}");
            }

            if (parseResult.GetValue(VideosPerRowGroup) is { } perGroup)
            {
                overrides.Add(string.Create(CultureInfo.InvariantCulture, $"videos_per_row_group={perGroup}"));
            }
        }
    }
}
