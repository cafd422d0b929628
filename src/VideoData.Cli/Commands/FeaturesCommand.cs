using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using VideoData.Core.Configuration;
using VideoData.Core.Failures;
using VideoData.Cli.Progress;
using VideoData.Core.IO;
using VideoData.Features.Runtime;
using VideoData.Pipeline.Definition;
using VideoData.Pipeline.Run;
using VideoData.Shards;
using VideoData.Storage.Blobs;
using VideoData.Storage.Sharding;

namespace VideoData.Cli.Commands;

/// <summary>
/// <c>videodata features INPUT --weights W --out FILE.parquet</c>: one video (or every video of a folder) to one feature shard.
/// <para>
/// One path (issue 15): a <c>features</c> run IS a <c>preprocess</c> run, through the same stages, segment writer, ledger and
/// publisher, so both commands write the same rows (features, duration, seconds) for the same video. The mapping:
/// the videos of INPUT become the manifest (<c>manifest.jsonl</c> in the job folder: id = file name without extension,
/// uri = the file relative to its folder, or the s3:// URI); the job folder is the run's output (<c>plan.json</c>,
/// <c>ledger/</c>, <c>stats/</c>, <c>_work/</c>, <c>shards/</c>), one worker, one shard (a shard size no folder reaches, so one
/// hash bucket); the manifest names no captions, so there are none unless the pipeline file gives a caption source.
/// Once the shard's ledger is committed, its data file is copied to <c>--out</c> (atomically: renamed into place, or one
/// PUT); a rerun finds the shard done, retries failures up to <c>max_retries</c> and copies it again, so a kill at any
/// point leaves <c>--out</c> either absent, or the previous complete shard, or the new one.
/// </para>
/// </summary>
internal static class FeaturesCommand
{
    /// <summary>A shard size no folder reaches: the features job is always one hash bucket, one shard.</summary>
    private const int OneShard = 1 << 30;

    private static readonly HashSet<string> s_videoExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".mpg", ".mpeg", ".ts", ".flv", ".3gp",
    };

    /// <param name="computeThread">The thread the encoder's libtorch work runs on (the CLI's main thread); null: a dedicated one.</param>
    public static Command Create(ComputeThread? computeThread = null)
    {
        var input = new Argument<string>("input")
        {
            Description = "A video (file path, file:///abs/path or s3://bucket/key) or a local folder, whose video files (mp4, mkv, webm, mov, …; not recursive) are all encoded. The video id is the file name without its extension (letters, digits, '_', '-', '.').",
        };
        var weights = new Option<string>("--weights")
        {
            Description = "S3D-G weights (encoder.weights): s3d_howto100m.pth (PyTorch zip format) or a .safetensors file with the same keys.",
            Required = true,
        };
        var output = new Option<string>("--out")
        {
            Description = "The feature shard to write (Parquet; a path or s3://bucket/key). Published atomically once the run's ledger commits it.",
            Required = true,
        };
        var job = new Option<string?>("--job")
        {
            Description = "The run's job folder (a preprocess output: manifest.jsonl, plan.json, ledger/, stats/, _work/, shards/), which makes a rerun resume (and keeps what it published: a video removed from INPUT stays in the shard; a new job folder starts over). "
                + "Default: OUT.job beside OUT; for a device, FIFO or link OUT, a temporary folder removed after the run.",
        };
        var device = new Option<string?>("--device") { Description = "encoder.device: cpu (float32, default) or cuda / cuda:N (float16)." };
        var decoder = new Option<string?>("--decoder") { Description = "decode.decoder: auto (NVDEC when a CUDA device supports the codec, else the CPU; default), cpu or cuda (NVDEC or fail)." };
        decoder.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        var timeout = new Option<double?>("--timeout") { Description = "decode.timeout_seconds: a decode that makes no progress for this many seconds fails with class timeout (default 120)." };
        var pipeline = new Option<string?>("--pipeline") { Description = "Pipeline definition file (as for preprocess); its manifest, output, shard and worker fields are replaced by this command's." };
        var set = new Option<string[]>("--set") { Description = "Override any pipeline field, as for preprocess: --set decode.threads=1 (repeatable; beats the environment and the file).", AllowMultipleArgumentsPerToken = false };
        var json = new Option<bool>("--json") { Description = "Print one JSON summary on standard output instead of the sentence (log lines stay on standard error)." };
        var encoding = new PreprocessCommand.EncodingFlags();
        var storage = new StorageFlags();
        var command = new Command(
            "features",
            "Extracts frozen S3D-G features end to end and writes one Parquet feature shard: decodes at 30 fps, shorter side 224, center "
            + "crop 224×224, encodes every second (the last partial second zero-padded), one row per video with ceil(duration) rows of 512 values. "
            + "It is `preprocess` on a manifest of INPUT's videos with one shard and no captions: same stages, same rows, a ledger and a plan in "
            + "the job folder (--job), safe to kill and rerun. Settings, highest precedence first: flags (dedicated ones and --set) > environment "
            + "(VIDEODATA_S3_*, AWS_REGION, ...) > --pipeline file > built-in defaults; `preprocess --help` lists them. Prints a summary; a video "
            + "that fails is reported on one line (video, failure class, message) and the exit code is 1.")
        {
            input,
            weights,
            output,
            job,
            device,
            decoder,
            timeout,
            pipeline,
            set,
            json,
        };
        encoding.AddTo(command);
        storage.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var target = parseResult.GetValue(input)!;
            return await MediaCommandInput.RunAsync("features", target, async () =>
            {
                var storageOptions = storage.Options(parseResult);
                var (root, videos) = ListInputs(target, storageOptions.LocalRoot);
                var outPath = parseResult.GetValue(output)!;
                var toS3 = outPath.Contains("://", StringComparison.Ordinal);
                if (!toS3)
                {
                    outPath = Path.GetFullPath(outPath);
                }

                var temporaryJob = parseResult.GetValue(job) is null && !toS3 && OutputFile.IsWrittenInPlace(outPath);
                var jobUri = parseResult.GetValue(job) is { } given
                    ? (given.Contains("://", StringComparison.Ordinal) ? given : Path.GetFullPath(given))
                    : temporaryJob ? Directory.CreateTempSubdirectory("videodata-features-").FullName : outPath + ".job";

                PipelineDefinition definition;
                try
                {
                    definition = LoadDefinition(parseResult, pipeline, set, encoding, storage, weights, device, decoder, timeout, jobUri, root);
                }
                catch (PipelineDefinitionException ex)
                {
                    Console.Error.WriteLine($"videodata features: {ex.Message}");
                    return 2;
                }

                // Unreadable weights are a usage error (exit 2) found before any video is decoded; the run's encoder would only
                // meet them at its first batch and fail the run like a storage error.
                try
                {
                    _ = VideoData.Features.Weights.WeightsFile.Load(definition.Encoder.Weights!);
                }
                catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"videodata features: {definition.Encoder.Weights}: {e.Message}");
                    return 2;
                }

                try
                {
                    using (var resolver = new BlobStoreResolver(Preprocessor.StoreOptions(definition)))
                    {
                        await WriteManifestAsync(resolver, definition.Manifest!, videos, cancellationToken).ConfigureAwait(false);
                    }

                    return await PreprocessCommand.RunAsync(
                        definition,
                        WorkerSlot.Single,
                        retryFailed: false,
                        ProgressMode.None,
                        computeThread,
                        cancellationToken,
                        finish: (summary, progress, ct) => PublishAsync(summary, progress, definition, outPath, parseResult.GetValue(json), ct),
                        command: "features").ConfigureAwait(false);
                }
                finally
                {
                    if (temporaryJob)
                    {
                        Directory.Delete(jobUri, recursive: true);
                    }
                }
            }).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>The definition of this run: file, environment, flags (as for preprocess), then the fields that make it a features run.</summary>
    private static PipelineDefinition LoadDefinition(
        ParseResult parseResult, Option<string?> pipeline, Option<string[]> set, PreprocessCommand.EncodingFlags encoding, StorageFlags storage,
        Option<string> weights, Option<string?> device, Option<string?> decoder, Option<double?> timeout, string jobUri, string? root)
    {
        var overrides = new List<string>();
        void Add(string field, string? value)
        {
            if (value is not null)
            {
                overrides.Add($"{field}={JsonSerializer.Serialize(value)}");
            }
        }

        Add("encoder.weights", Path.GetFullPath(parseResult.GetValue(weights)!));
        if (parseResult.GetValue(device) is { } given)
        {
            // "cuda:N" is encoder.device = cuda and encoder.cuda_device = N; anything else is the device's name, checked by the loader.
            var ordinal = given.StartsWith("cuda:", StringComparison.Ordinal) ? given[5..] : null;
            Add("encoder.device", ordinal is null ? given : "cuda");
            if (ordinal is not null)
            {
                overrides.Add(int.TryParse(ordinal, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                    ? string.Create(CultureInfo.InvariantCulture, $"encoder.cuda_device={n}")
                    : throw new ArgumentException($"--device {given}: the CUDA device must be cuda or cuda:N with N a device number."));
            }
        }

        Add("decode.decoder", parseResult.GetValue(decoder));
        if (parseResult.GetValue(timeout) is { } seconds)
        {
            overrides.Add(string.Create(CultureInfo.InvariantCulture, $"decode.timeout_seconds={seconds}"));
        }

        overrides.AddRange(storage.PipelineOverrides(parseResult));
        encoding.AddOverrides(parseResult, overrides);
        overrides.AddRange(parseResult.GetValue(set) ?? []);

        // What makes it a features run, whatever the file or --set say: the job folder as the output, the listed videos as
        // the manifest (entries relative to their folder), one shard.
        var jobPrefix = jobUri.TrimEnd('/');
        overrides.Add($"output={JsonSerializer.Serialize(jobPrefix + "/")}");
        overrides.Add($"manifest={JsonSerializer.Serialize(jobPrefix + "/manifest.jsonl")}");
        overrides.Add($"source_root={JsonSerializer.Serialize(root)}");
        overrides.Add("uri_template=null");
        overrides.Add(string.Create(CultureInfo.InvariantCulture, $"shard_size={OneShard}"));
        overrides.Add("shard_count=1");
        return PipelineDefinitionLoader.Load(parseResult.GetValue(pipeline), Environment.GetEnvironmentVariable, overrides);
    }

    private static async Task WriteManifestAsync(BlobStoreResolver resolver, string manifest, IReadOnlyList<(string Id, string Uri)> videos, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        foreach (var (id, uri) in videos)
        {
            text.Append(JsonSerializer.Serialize(new Dictionary<string, string> { ["video_id"] = id, ["uri"] = uri })).Append('\n');
        }

        var (store, key) = resolver.Resolve(manifest);
        using var content = new MemoryStream(Encoding.UTF8.GetBytes(text.ToString()));
        await store.WriteAsync(key, content, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>After the run: copies the shard its ledger names to <paramref name="outPath"/> and prints the summary.</summary>
    private static async Task<int> PublishAsync(PreprocessSummary summary, PipelineProgress progress, PipelineDefinition definition, string outPath, bool json, CancellationToken cancellationToken)
    {
        var ledger = summary.Ledgers.Single();
        var done = ledger.Done.ToList();
        var failed = ledger.Failed.ToList();
        if (done.Count == 0 || ledger.DataFile is null)
        {
            // Nothing to publish: leave no empty shard behind for a run in which every video failed.
            Console.Error.WriteLine($"videodata features: no video was encoded; {outPath} was not written.");
            return 1;
        }

        using var resolver = new BlobStoreResolver(Preprocessor.StoreOptions(definition));
        var (jobStore, dataKey) = resolver.Resolve(summary.Output + ledger.DataFile);
        if (outPath.Contains("://", StringComparison.Ordinal))
        {
            var (store, key) = resolver.Resolve(outPath);
            var source = await jobStore.OpenReadAsync(dataKey, cancellationToken).ConfigureAwait(false);
            await using (source.ConfigureAwait(false))
            {
                await store.WriteAsync(key, source, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            await OutputFile.WriteAsync(
                outPath,
                async (destination, ct) =>
                {
                    var source = await jobStore.OpenReadAsync(dataKey, ct).ConfigureAwait(false);
                    await using (source.ConfigureAwait(false))
                    {
                        await source.CopyToAsync(destination, ct).ConfigureAwait(false);
                    }
                },
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        var seconds = done.Sum(e => (long)e.Seconds);
        var jobFolder = summary.Output.StartsWith("file:", StringComparison.Ordinal) ? new Uri(summary.Output).LocalPath : summary.Output;
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                @event = "summary",
                command = "features",
                output = outPath,
                job = jobFolder,
                data_file = ledger.DataFile,
                videos = ledger.Videos.Count,
                done = done.Count,
                failed = failed.Count,
                failures_by_class = summary.FailuresByClass,
                seconds = seconds,
                seconds_encoded = progress.SecondsEncoded,
                video_seconds_per_second = Math.Round(progress.VideoSecondsPerSecond, 3),
                storage_requests = summary.Storage.Requests,
                storage_retries = summary.Storage.Retries,
                random_weights = summary.RandomWeights,
            }, PipelineProgressDisplay.JsonOptions));
        }
        else
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"wrote {done.Count} video(s), {seconds} second(s) of features to {outPath} (encoder on {LibraryOptions.ForEncoder(definition).Device}, feature dtype {SnakeCaseEnumConverter.NameOf(definition.Encoder.FeatureDtype)}; job folder {jobFolder}, {progress.SecondsEncoded} s encoded by this run); {failed.Count} failed"));
        }

        return failed.Count == 0 ? 0 : 1;
    }

    /// <summary>
    /// The videos to encode, as manifest entries: a folder's video files in name order (uris relative to the folder, which is
    /// returned as the root), a single local file (relative to its folder), or one s3:// URI (no root).
    /// </summary>
    private static (string? Root, List<(string Id, string Uri)> Videos) ListInputs(string given, string? localRoot)
    {
        var target = given;
        if (target.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            target = new Uri(target).LocalPath;
        }
        else if (!target.Contains("://", StringComparison.Ordinal))
        {
            target = Path.GetFullPath(target, localRoot ?? Directory.GetCurrentDirectory());
        }
        else
        {
            var name = target[(target.LastIndexOf('/') + 1)..];
            var stem = Path.GetFileNameWithoutExtension(name);
            return (null, [(string.IsNullOrEmpty(stem) ? name : stem, target)]);
        }

        if (Directory.Exists(target))
        {
            var files = Directory.EnumerateFiles(target)
                .Where(f => s_videoExtensions.Contains(Path.GetExtension(f)))
                .Order(StringComparer.Ordinal)
                .Select(f => (Id: Path.GetFileNameWithoutExtension(f), Uri: Path.GetFileName(f)))
                .ToList();
            if (files.Count == 0)
            {
                throw new VideoDataException(FailureClass.Fetch, $"{target}: the folder holds no video files ({string.Join(", ", s_videoExtensions.Order(StringComparer.Ordinal))}).");
            }

            var duplicate = files.GroupBy(f => f.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
            {
                throw new ArgumentException($"two videos would get the id '{duplicate.Key}': {string.Join(", ", duplicate.Select(d => d.Uri))}.");
            }

            return (target, files);
        }

        if (!File.Exists(target))
        {
            throw new VideoDataException(FailureClass.Fetch, $"{given}: no such file or folder.");
        }

        var file = Path.GetFileName(target);
        var id = Path.GetFileNameWithoutExtension(file);
        return (Path.GetDirectoryName(target), [(string.IsNullOrEmpty(id) ? file : id, file)]);
    }
}
