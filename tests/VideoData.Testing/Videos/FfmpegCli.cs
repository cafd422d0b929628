using System.Diagnostics;
using System.Text.Json;

namespace VideoData.Testing.Videos;

/// <summary>Runs the ffmpeg and ffprobe command-line tools (Debian's <c>ffmpeg</c> package) for tests.</summary>
public static class FfmpegCli
{
    /// <summary>Runs ffmpeg with the arguments and returns its standard output; throws with stderr on failure.</summary>
    public static byte[] Run(params string[] arguments) => RunTool("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "error", .. arguments]);

    /// <summary>
    /// The reference sampling: <c>ffmpeg -i X -vf fps=F,scale=W:H,crop=S:S -pix_fmt rgb24 -f rawvideo</c>
    /// with W:H computed from the display size as the reference extractor does (shorter side S,
    /// the other ⌊long·S/short⌋). The CLI autorotates before the filters, so the display size is the
    /// right basis.
    /// </summary>
    public static byte[] ReferenceFrames(string path, int fps = 30, int size = 224)
    {
        var (width, height) = DisplaySize(path);
        var (scaledWidth, scaledHeight) = width <= height
            ? (size, (int)((long)height * size / width))
            : ((int)((long)width * size / height), size);
        return Run("-i", path, "-vf", $"fps={fps},scale={scaledWidth}:{scaledHeight},crop={size}:{size}", "-pix_fmt", "rgb24", "-f", "rawvideo", "-");
    }

    /// <summary>The first video stream's size after rotation metadata, as ffprobe reports it.</summary>
    public static (int Width, int Height) DisplaySize(string path)
    {
        var json = RunTool("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json", path]);
        using var document = JsonDocument.Parse(json);
        var stream = document.RootElement.GetProperty("streams")[0];
        var width = stream.GetProperty("width").GetInt32();
        var height = stream.GetProperty("height").GetInt32();
        var rotation = 0;
        if (stream.TryGetProperty("side_data_list", out var sideData))
        {
            foreach (var entry in sideData.EnumerateArray())
            {
                if (entry.TryGetProperty("rotation", out var value))
                {
                    rotation = value.GetInt32();
                }
            }
        }

        return Math.Abs(rotation) % 180 == 90 ? (height, width) : (width, height);
    }

    private static byte[] RunTool(string tool, string[] arguments)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start; install Debian's ffmpeg package (infra/scripts/setup.sh).");
        var errors = process.StandardError.ReadToEndAsync();
        using var output = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(output);
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed with exit code {process.ExitCode}: {errors.Result}");
        }

        return output.ToArray();
    }
}
