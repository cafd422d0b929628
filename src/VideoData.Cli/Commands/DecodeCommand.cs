using System.CommandLine;
using VideoData.Core.IO;
using VideoData.Media.Decode;

namespace VideoData.Cli.Commands;

/// <summary><c>videodata decode INPUT --out FILE</c>: the reference sampling (fps, shorter side, center crop) as raw RGB24 frames.</summary>
internal static class DecodeCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input")
        {
            Description = "The video: a file path, file:///abs/path or s3://bucket/key.",
        };
        var output = new Option<string>("--out")
        {
            Description = "Where to write the frames: raw RGB24, SIZE×SIZE×3 bytes per frame, frame after frame (- for standard output). Written under a temporary name and renamed when complete.",
            Required = true,
        };
        var fps = new Option<int>("--fps")
        {
            Description = "Output frame rate, with the timestamp rules of ffmpeg's fps filter (1–240).",
            DefaultValueFactory = _ => 30,
        };
        var size = new Option<int>("--size")
        {
            Description = "Output frame size: the shorter side is scaled to it (bicubic), then a centered SIZE×SIZE crop (2–4096).",
            DefaultValueFactory = _ => 224,
        };
        var decoder = new Option<string>("--decoder")
        {
            Description = "auto: NVDEC when a CUDA device supports the codec, else the CPU (says why); cpu: libavcodec; cuda: NVDEC or fail.",
            DefaultValueFactory = _ => "auto",
        };
        decoder.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        var threads = new Option<int>("--threads")
        {
            Description = "Decoder threads (frame and slice threading); 0 chooses from the core count.",
            DefaultValueFactory = _ => 0,
        };
        var timeout = MediaCommandInput.TimeoutOption();
        var storage = new StorageFlags();
        var command = new Command("decode", "Decodes a video in process and writes the frames the reference extractor would see (ffmpeg -vf fps=30,scale=W:H,crop=224:224 -pix_fmt rgb24), then prints the frame count. Exits non-zero with one line naming the input and the failure class for a bad input.")
        {
            input,
            output,
            fps,
            size,
            decoder,
            threads,
            timeout,
        };
        storage.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var target = parseResult.GetValue(input)!;
            var destination = parseResult.GetValue(output)!;
            return await MediaCommandInput.RunAsync("decode", target, async () =>
            {
                var options = new DecodeOptions
                {
                    Fps = parseResult.GetValue(fps),
                    Size = parseResult.GetValue(size),
                    Decoder = parseResult.GetValue(decoder) switch
                    {
                        "cpu" => DecoderPreference.Cpu,
                        "cuda" => DecoderPreference.Cuda,
                        _ => DecoderPreference.Auto,
                    },
                    Threads = parseResult.GetValue(threads),
                    WatchdogTimeout = TimeSpan.FromSeconds(parseResult.GetValue(timeout)),
                };
                options.Validate();
                var statistics = new DecodeStatistics();
                var opened = await MediaCommandInput.OpenAsync(target, storage, parseResult, cancellationToken).ConfigureAwait(false);
                await using var openedScope = opened.ConfigureAwait(false);
                var toStdout = destination == "-";

                // A device, FIFO or link (--out /dev/null, /dev/stdout) is written in place, never renamed over (OutputFile).
                var inPlace = !toStdout && OutputFile.IsWrittenInPlace(destination);
                var temporary = toStdout || inPlace ? null : OutputFile.TemporaryPathFor(destination);
                try
                {
                    var sink = toStdout ? Console.OpenStandardOutput()
                        : inPlace ? OutputFile.OpenInPlace(destination)
                        : new FileStream(temporary!, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
                    await using (sink.ConfigureAwait(false))
                    {
                        await foreach (var chunk in VideoDecoder.DecodeAsync(opened.Stream, target, options, statistics, cancellationToken).ConfigureAwait(false))
                        {
                            using (chunk)
                            {
                                await sink.WriteAsync(chunk.PixelMemory, cancellationToken).ConfigureAwait(false);
                            }
                        }
                    }

                    if (temporary is not null)
                    {
                        OutputFile.Publish(temporary, destination);
                    }
                }
                finally
                {
                    if (temporary is not null && File.Exists(temporary))
                    {
                        File.Delete(temporary);
                    }
                }

                var report = toStdout ? Console.Error : Console.Out;
                if (statistics.FallbackReason is { } fallback)
                {
                    Console.Error.WriteLine($"videodata decode: {target}: {fallback}");
                }

                var errors = statistics.DecodeErrors == 0 ? "" : $"; {statistics.DecodeErrors} decode errors skipped (last: {statistics.LastDecodeError})";
                report.WriteLine($"{statistics.FramesOutput} frames ({options.Size}x{options.Size} RGB24, {options.Fps} fps, decoder {statistics.Decoder}){errors} -> {destination}");
                return 0;
            }).ConfigureAwait(false);
        });
        return command;
    }
}
