using System.CommandLine;
using System.Globalization;
using System.Runtime.CompilerServices;
using VideoData.Core.Failures;
using VideoData.Core.Frames;
using VideoData.Features.Extraction;
using VideoData.Media.Decode;
using VideoData.Shards;
using VideoData.Storage.Blobs;

namespace VideoData.Cli.Commands;

/// <summary>
/// <c>videodata features INPUT --weights W --out FILE.parquet</c>: decode one video (or every video of
/// a folder), encode each second with frozen S3D-G and write one feature shard.
/// </summary>
internal static class FeaturesCommand
{
    private static readonly HashSet<string> s_videoExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".mpg", ".mpeg", ".ts", ".flv", ".3gp",
    };

    public static Command Create()
    {
        var input = new Argument<string>("input")
        {
            Description = "A video (file path, file:///abs/path or s3://bucket/key) or a local folder, whose video files (mp4, mkv, webm, mov, …; not recursive) are all encoded. The video id is the file name without its extension.",
        };
        var weights = new Option<string>("--weights")
        {
            Description = "S3D-G weights: s3d_howto100m.pth (PyTorch zip format) or a .safetensors file with the same keys.",
            Required = true,
        };
        var output = new Option<string>("--out")
        {
            Description = "The feature shard to write (Parquet; a path or s3://bucket/key). Built under a temporary name and published atomically when complete.",
            Required = true,
        };
        var device = new Option<string>("--device")
        {
            Description = "Where the encoder runs: cpu (float32) or cuda / cuda:N (float16).",
            DefaultValueFactory = _ => "cpu",
        };
        var secondsPerBatch = new Option<int>("--seconds-per-batch")
        {
            Description = "Seconds of video per encoder forward pass, batched across videos (1–256).",
            DefaultValueFactory = _ => 8,
        };
        var threads = new Option<int>("--threads")
        {
            Description = "libtorch intra-op threads; 0 leaves libtorch's default (the core count).",
            DefaultValueFactory = _ => 0,
        };
        var mixed5c = new Option<bool>("--mixed-5c") { Description = "Also store the 1024-d mean-pooled mixed_5c activations per second." };
        var noL2 = new Option<bool>("--no-l2-normalize") { Description = "Store raw video_embedding rows instead of L2-normalized ones (the reference normalizes)." };
        var dtype = new Option<string>("--feature-dtype")
        {
            Description = "float16: values rounded to float16 precision as the reference stores them (still written as float32); float32: full precision.",
            DefaultValueFactory = _ => "float16",
        };
        dtype.AcceptOnlyFromAmong("float16", "float32");
        var perRowGroup = new Option<int>("--videos-per-row-group")
        {
            Description = "Videos per Parquet row group (1–4096): reading one video reads one row group.",
            DefaultValueFactory = _ => 16,
        };
        var decoder = new Option<string>("--decoder")
        {
            Description = "auto: NVDEC when a CUDA device supports the codec, else the CPU; cpu: libavcodec; cuda: NVDEC or fail.",
            DefaultValueFactory = _ => "auto",
        };
        decoder.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        var timeout = MediaCommandInput.TimeoutOption();
        var storage = new StorageFlags();
        var command = new Command(
            "features",
            "Extracts frozen S3D-G features end to end: decodes at 30 fps, shorter side 224, center crop 224×224, encodes every second "
            + "(the last partial second zero-padded) and writes one Parquet feature shard, one row per video with ceil(duration) rows of 512 values. "
            + "Prints a summary; a video that fails is reported on one line (input, failure class, message) and the exit code is 1.")
        {
            input,
            weights,
            output,
            device,
            secondsPerBatch,
            threads,
            mixed5c,
            noL2,
            dtype,
            perRowGroup,
            decoder,
            timeout,
        };
        storage.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var target = parseResult.GetValue(input)!;
            return await MediaCommandInput.RunAsync("features", target, async () =>
            {
                var decodeOptions = new DecodeOptions
                {
                    Decoder = parseResult.GetValue(decoder) switch
                    {
                        "cpu" => DecoderPreference.Cpu,
                        "cuda" => DecoderPreference.Cuda,
                        _ => DecoderPreference.Auto,
                    },
                    WatchdogTimeout = TimeSpan.FromSeconds(parseResult.GetValue(timeout)),
                };
                decodeOptions.Validate();
                var encoderOptions = new S3dEncoderOptions
                {
                    Device = parseResult.GetValue(device)!,
                    SecondsPerBatch = parseResult.GetValue(secondsPerBatch),
                    Threads = parseResult.GetValue(threads),
                    IncludeMixed5c = parseResult.GetValue(mixed5c),
                    L2Normalize = !parseResult.GetValue(noL2),
                    FramesPerSecond = decodeOptions.Fps,
                    FrameSize = decodeOptions.Size,
                };
                var shardOptions = new FeatureShardWriterOptions
                {
                    VideosPerRowGroup = parseResult.GetValue(perRowGroup),
                    Storage = parseResult.GetValue(dtype) == "float32" ? FeatureStorage.Float32 : FeatureStorage.Float16Rounded,
                };
                var inputs = ListInputs(target);
                var weightsPath = parseResult.GetValue(weights)!;
                S3dEncoder encoder;
                try
                {
                    encoder = S3dEncoder.Create(weightsPath, encoderOptions);
                }
                catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
                {
                    Console.Error.WriteLine($"videodata features: {weightsPath}: {e.Message}");
                    return 2;
                }

                using (encoder)
                {
                    return await RunAsync(inputs, encoder, decodeOptions, shardOptions, parseResult.GetValue(output)!, storage, parseResult, cancellationToken).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(
        IReadOnlyList<(string Id, string Target)> inputs,
        S3dEncoder encoder,
        DecodeOptions decodeOptions,
        FeatureShardWriterOptions shardOptions,
        string output,
        StorageFlags storage,
        ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var durations = new Dictionary<string, double?>(StringComparer.Ordinal);
        using var resolver = output.Contains("://", StringComparison.Ordinal) ? new BlobStoreResolver(storage.Options(parseResult)) : null;
        var writer = resolver is null
            ? FeatureShardWriter.CreateFile(output, encoder.CreateLineage(), shardOptions)
            : CreateBlobWriter(resolver, output, encoder.CreateLineage(), shardOptions);
        await using var disposeWriter = writer.ConfigureAwait(false);

        async IAsyncEnumerable<FrameChunk> Decode(string id, string target, [EnumeratorCancellation] CancellationToken ct = default)
        {
            var probed = await MediaCommandInput.OpenAsync(target, storage, parseResult, ct).ConfigureAwait(false);
            await using (probed.ConfigureAwait(false))
            {
                var probe = await VideoDecoder.ProbeAsync(probed.Stream, target, decodeOptions, ct).ConfigureAwait(false);
                durations[id] = probe.Duration?.TotalSeconds;
            }

            var opened = await MediaCommandInput.OpenAsync(target, storage, parseResult, ct).ConfigureAwait(false);
            await using var disposeOpened = opened.ConfigureAwait(false);
            await foreach (var chunk in VideoDecoder.DecodeAsync(opened.Stream, target, decodeOptions, ct).ConfigureAwait(false))
            {
                yield return chunk;
            }
        }

        async IAsyncEnumerable<VideoFrames> Videos()
        {
            await Task.CompletedTask.ConfigureAwait(false);
            foreach (var (id, target) in inputs)
            {
                yield return new VideoFrames(id, Decode(id, target));
            }
        }

        var targets = inputs.ToDictionary(i => i.Id, i => i.Target, StringComparer.Ordinal);
        int written = 0, failed = 0;
        long seconds = 0;
        await foreach (var result in encoder.EncodeAsync(Videos(), cancellationToken).ConfigureAwait(false))
        {
            if (result.Failure is { } failure)
            {
                failed++;
                Console.Error.WriteLine($"videodata features: {targets[result.VideoId]}: {failure.FailureClass.ToName()}: {failure.Message}");
                continue;
            }

            var features = result.Features!;
            await writer.AddAsync(
                new FeatureRecord
                {
                    VideoId = result.VideoId,
                    Duration = durations.GetValueOrDefault(result.VideoId) ?? features.Seconds,
                    Seconds = features.Seconds,
                    Features = features.Embeddings,
                    Mixed5cDim = features.Mixed5c is null ? 0 : VideoFeatures.Mixed5cDim,
                    Mixed5c = features.Mixed5c,
                },
                cancellationToken).ConfigureAwait(false);
            written++;
            seconds += features.Seconds;
        }

        if (written == 0 && failed > 0)
        {
            // Nothing to publish: leave no empty shard behind for a run in which every video failed.
            Console.Error.WriteLine($"videodata features: no video was encoded; {output} was not written.");
            return 1;
        }

        await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"wrote {written} video(s), {seconds} second(s) of features to {output} (encoder on {encoder.DeviceName}, {encoder.PrecisionName}, weights sha256 {encoder.WeightsSha256[..12]}…); {failed} failed"));
        return failed == 0 ? 0 : 1;
    }

    private static FeatureShardWriter CreateBlobWriter(BlobStoreResolver resolver, string output, ShardLineage lineage, FeatureShardWriterOptions options)
    {
        var (store, key) = resolver.Resolve(output);
        return FeatureShardWriter.CreateBlob(store, key, lineage, options);
    }

    /// <summary>The videos to encode: a folder's video files in name order, or the single input.</summary>
    private static List<(string Id, string Target)> ListInputs(string target)
    {
        if (!target.Contains("://", StringComparison.Ordinal) && Directory.Exists(target))
        {
            var files = Directory.EnumerateFiles(target)
                .Where(f => s_videoExtensions.Contains(Path.GetExtension(f)))
                .Order(StringComparer.Ordinal)
                .Select(f => (Id: Path.GetFileNameWithoutExtension(f), Target: f))
                .ToList();
            if (files.Count == 0)
            {
                throw new VideoDataException(FailureClass.Fetch, $"{target}: the folder holds no video files ({string.Join(", ", s_videoExtensions.Order(StringComparer.Ordinal))}).");
            }

            var duplicate = files.GroupBy(f => f.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
            {
                throw new ArgumentException($"two videos would get the id '{duplicate.Key}': {string.Join(", ", duplicate.Select(d => Path.GetFileName(d.Target)))}.");
            }

            return files;
        }

        if (!target.Contains("://", StringComparison.Ordinal) && !File.Exists(target))
        {
            throw new VideoDataException(FailureClass.Fetch, $"{target}: no such file or folder.");
        }

        var name = target.Contains("://", StringComparison.Ordinal) ? target[(target.LastIndexOf('/') + 1)..] : Path.GetFileName(target);
        var id = Path.GetFileNameWithoutExtension(name);
        return [(string.IsNullOrEmpty(id) ? name : id, target)];
    }
}
