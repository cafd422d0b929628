using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using VideoData.Core.Failures;
using VideoData.Media.Decode;
using VideoData.Storage.Blobs;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata probe INPUT [--json]</c>: what the container says about a video, and whether NVDEC could decode it.</summary>
internal static class ProbeCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input")
        {
            Description = "The video: a file path, file:///abs/path or s3://bucket/key.",
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var timeout = MediaCommandInput.TimeoutOption();
        var storage = new StorageFlags();
        var command = new Command("probe", "Shows a video's container, codec, profile, size, rotation, frame rates, duration, frame count, audio streams and whether NVDEC could decode it. Exits non-zero with one line naming the input and the failure class when it cannot be read.")
        {
            input,
            json,
            timeout,
        };
        storage.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var target = parseResult.GetValue(input)!;
            return await MediaCommandInput.RunAsync("probe", target, async () =>
            {
                var options = new DecodeOptions { WatchdogTimeout = TimeSpan.FromSeconds(parseResult.GetValue(timeout)) };
                var opened = await MediaCommandInput.OpenAsync(target, storage, parseResult, cancellationToken).ConfigureAwait(false);
                await using var openedScope = opened.ConfigureAwait(false);
                var probe = await VideoDecoder.ProbeAsync(opened.Stream, target, options, cancellationToken).ConfigureAwait(false);
                Console.WriteLine(parseResult.GetValue(json) ? ToJson(target, probe) : ToTable(target, probe));
                return 0;
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static string ToTable(string input, ProbeResult probe)
    {
        static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
        var rows = new (string, string)[]
        {
            ("input", input),
            ("container", probe.Container),
            ("codec", probe.Codec),
            ("profile", probe.Profile ?? "unknown"),
            ("pixel format", probe.PixelFormat ?? "unknown"),
            ("size", $"{probe.Width}x{probe.Height}"),
            ("rotation", $"{Number(probe.Rotation)}°"),
            ("display size", $"{probe.DisplayWidth}x{probe.DisplayHeight}"),
            ("frame rate (average)", $"{Number(probe.AverageFrameRate)} fps"),
            ("frame rate (real)", $"{Number(probe.RealFrameRate)} fps"),
            ("duration", probe.Duration is { } d ? $"{Number(d.TotalSeconds)} s" : "unknown"),
            ("frames", probe.FrameCount?.ToString(CultureInfo.InvariantCulture) ?? "unknown"),
            ("audio streams", probe.AudioStreams.Count == 0 ? "none" : string.Join(", ", probe.AudioStreams.Select(a => $"#{a.Index} {a.Codec} {a.SampleRate} Hz {a.Channels} ch"))),
            ("nvdec", probe.NvdecDetail),
        };
        var width = rows.Max(r => r.Item1.Length);
        return string.Join(Environment.NewLine, rows.Select(r => $"{r.Item1.PadRight(width)}  {r.Item2}"));
    }

    private static string ToJson(string input, ProbeResult probe) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["input"] = input,
        ["container"] = probe.Container,
        ["codec"] = probe.Codec,
        ["profile"] = probe.Profile,
        ["pixel_format"] = probe.PixelFormat,
        ["width"] = probe.Width,
        ["height"] = probe.Height,
        ["rotation"] = probe.Rotation,
        ["display_width"] = probe.DisplayWidth,
        ["display_height"] = probe.DisplayHeight,
        ["avg_frame_rate"] = probe.AverageFrameRate,
        ["real_frame_rate"] = probe.RealFrameRate,
        ["duration_seconds"] = probe.Duration?.TotalSeconds,
        ["frame_count"] = probe.FrameCount,
        ["audio_streams"] = probe.AudioStreams.Select(a => new Dictionary<string, object> { ["index"] = a.Index, ["codec"] = a.Codec, ["sample_rate"] = a.SampleRate, ["channels"] = a.Channels }).ToList(),
        ["nvdec_supported"] = probe.NvdecSupported,
        ["nvdec_detail"] = probe.NvdecDetail,
    });
}

/// <summary>Opening a command's media input (local path or storage URI) and reporting its failures in one line.</summary>
internal static class MediaCommandInput
{
    public static Option<double> TimeoutOption() => new("--timeout")
    {
        Description = "Watchdog: give up (failure class timeout) when reading or decoding makes no progress for this many seconds.",
        DefaultValueFactory = _ => 60,
        Validators =
        {
            r =>
            {
                if (r.GetValueOrDefault<double>() is <= 0 or > 86400 or double.NaN)
                {
                    r.AddError("--timeout must be between 0 and 86400 seconds.");
                }
            },
        },
    };

    /// <summary>
    /// Opens a plain path as a local file (relative to the current directory), or a URI (s3://,
    /// file://) or a path under --root through the storage layer.
    /// Failures to open are <c>fetch</c> failures.
    /// </summary>
    public static async Task<OpenedInput> OpenAsync(string input, StorageFlags storage, ParseResult parseResult, CancellationToken cancellationToken)
    {
        var storageOptions = storage.Options(parseResult);
        if (!input.Contains("://", StringComparison.Ordinal) && storageOptions.LocalRoot is null)
        {
            try
            {
                return new OpenedInput(new FileStream(input, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1), null);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new VideoDataException(FailureClass.Fetch, $"{input}: cannot open: {e.Message}", e);
            }
        }

        var resolver = new BlobStoreResolver(storageOptions);
        try
        {
            var (store, key) = resolver.Resolve(input);
            var stream = await store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
            return new OpenedInput(stream, resolver);
        }
        catch (BlobStoreException e)
        {
            resolver.Dispose();
            throw new VideoDataException(FailureClass.Fetch, $"{input}: {e.Message}", e);
        }
        catch
        {
            resolver.Dispose();
            throw;
        }
    }

    /// <summary>Runs a media command, turning failures into one line on stderr and an exit code (1 input, 2 usage, 3 environment).</summary>
    public static async Task<int> RunAsync(string command, string input, Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (VideoDataException e)
        {
            Console.Error.WriteLine($"videodata {command}: {input}: {e.FailureClass.ToName()}: {Strip(e.Message, input, e.FailureClass)}");
            return 1;
        }
        catch (NativeDependencyException e)
        {
            Console.Error.WriteLine($"videodata {command}: {e.Message}");
            return 3;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            Console.Error.WriteLine($"videodata {command}: {input}: {e.Message}");
            return 2;
        }
    }

    /// <summary>Drops the input name and failure class the library puts in its messages, since the line already has them.</summary>
    private static string Strip(string message, string input, FailureClass failureClass)
    {
        if (message.StartsWith(input + ": ", StringComparison.Ordinal))
        {
            message = message[(input.Length + 2)..];
        }

        var suffix = $" ({failureClass.ToName()})";
        return message.EndsWith(suffix, StringComparison.Ordinal) ? message[..^suffix.Length] : message;
    }

    /// <summary>An opened input stream and whatever owns the store it came from.</summary>
    internal sealed class OpenedInput(Stream stream, IDisposable? owner) : IAsyncDisposable
    {
        public Stream Stream { get; } = stream;

        public async ValueTask DisposeAsync()
        {
            await Stream.DisposeAsync().ConfigureAwait(false);
            owner?.Dispose();
        }
    }
}
