using System.Diagnostics;
using System.Globalization;
using System.Text;
using VideoData.Core.IO;

namespace VideoData.Pipeline.Demo;

/// <summary>What <see cref="DemoCorpus.GenerateAsync"/> wrote.</summary>
/// <param name="Folder">The corpus folder.</param>
/// <param name="Manifest">The manifest CSV (video_id, uri, caption_uri), relative URIs.</param>
/// <param name="Videos">Videos in the manifest.</param>
/// <param name="BrokenVideos">Ids of videos that are deliberately broken and must fail.</param>
/// <param name="BrokenCaptions">Ids whose captions are deliberately broken.</param>
public sealed record DemoCorpusInfo(string Folder, string Manifest, int Videos, IReadOnlyList<string> BrokenVideos, IReadOnlyList<string> BrokenCaptions);

/// <summary>
/// Generates the small sample corpus <c>videodata demo</c> preprocesses: short synthetic videos from
/// FFmpeg's test sources (varied sizes, frame rates, codecs and orientations) with narrated-style captions
/// in all three formats (HowTo100M per-video JSON, YouTube-style rolling WebVTT, SRT), plus a few broken
/// videos and captions that the pipeline must record as failures without losing anything else.
/// Uses the <c>ffmpeg</c> command-line program (Debian package <c>ffmpeg</c>, installed by set-up).
/// </summary>
public static class DemoCorpus
{
    private static readonly string[] Sources =
    [
        "testsrc2=size={0}:rate={1}", "smptebars=size={0}:rate={1}", "mandelbrot=size={0}:rate={1}",
        "rgbtestsrc=size={0}:rate={1}", "cellauto=size={0}:rate={1}", "life=size={0}:rate={1}:mold=10",
    ];

    private static readonly string[] Sentences =
    [
        "first take the pan and heat some oil", "now add the chopped onions and stir them", "let it cook for about five minutes",
        "you can see the color changing here", "next we attach the bracket to the wall", "make sure the screws are tight",
        "then sand the edges until smooth", "this is how you fold the paper in half", "add a pinch of salt and pepper",
        "and that is all you need to do",
    ];

    /// <summary>
    /// Writes the corpus into <paramref name="folder"/> (created; existing demo files are reused when present).
    /// <paramref name="videos"/> counts the good videos; four broken ones are added.
    /// </summary>
    public static async Task<DemoCorpusInfo> GenerateAsync(string folder, int videos = 16, double secondsPerVideo = 3, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(videos);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(secondsPerVideo);
        Directory.CreateDirectory(Path.Combine(folder, "videos"));
        Directory.CreateDirectory(Path.Combine(folder, "captions"));
        var manifest = new StringBuilder("video_id,uri,caption_uri\n");
        string[] sizes = ["320x240", "256x144", "180x320", "240x240"];
        int[] rates = [30, 25, 24, 60];
        for (var i = 0; i < videos; i++)
        {
            var id = $"demo{i:D3}";
            var video = $"videos/{id}.mp4";
            var size = sizes[i % sizes.Length];
            var rate = rates[(i / 2) % rates.Length];
            var source = string.Format(CultureInfo.InvariantCulture, Sources[i % Sources.Length], size, rate);
            var codec = i % 5 == 4 ? ["-c:v", "libvpx-vp9", "-b:v", "200k", "-deadline", "realtime", "-cpu-used", "8"] : new[] { "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p" };
            var path = Path.Combine(folder, video);
            if (i % 5 == 4)
            {
                video = $"videos/{id}.webm";
                path = Path.Combine(folder, video);
            }

            if (!File.Exists(path))
            {
                // ffmpeg picks the container from the extension, so the temporary name keeps it.
                var temporary = OutputFile.TemporaryPathFor(path, Path.GetExtension(path));
                try
                {
                    await FfmpegAsync(["-f", "lavfi", "-i", source, "-t", secondsPerVideo.ToString(CultureInfo.InvariantCulture), .. codec, "-y", temporary], cancellationToken).ConfigureAwait(false);
                    OutputFile.Publish(temporary, path);
                }
                catch
                {
                    OutputFile.TryDelete(temporary);
                    throw;
                }
            }

            var caption = WriteCaption(folder, id, i, secondsPerVideo);
            manifest.Append(CultureInfo.InvariantCulture, $"{id},{video},{caption}\n");
        }

        // Broken inputs: each must end in the ledger with its failure class, and nothing else may be lost.
        var broken = new List<string>();
        File.WriteAllBytes(Path.Combine(folder, "videos", "broken_empty.mp4"), []);
        manifest.Append("broken_empty,videos/broken_empty.mp4,\n");
        broken.Add("broken_empty");
        var random = new byte[64 * 1024];
        new Random(7).NextBytes(random);
        File.WriteAllBytes(Path.Combine(folder, "videos", "broken_noise.mp4"), random);
        manifest.Append("broken_noise,videos/broken_noise.mp4,\n");
        broken.Add("broken_noise");
        var good = File.ReadAllBytes(Path.Combine(folder, "videos", "demo000.mp4"));
        File.WriteAllBytes(Path.Combine(folder, "videos", "broken_truncated.mp4"), good.AsSpan(0, Math.Min(good.Length, 2048)).ToArray());
        manifest.Append("broken_truncated,videos/broken_truncated.mp4,\n");
        broken.Add("broken_truncated");
        manifest.Append("broken_missing,videos/broken_missing.mp4,\n");
        broken.Add("broken_missing");

        // A good video whose caption file is garbage: kept without captions (or failed when captions are required).
        // demo001's captions are WebVTT (index 1); overwrite them with bytes no caption reader accepts.
        File.WriteAllBytes(Path.Combine(folder, "captions", "demo001.vtt"), [0x00, 0x01, 0xFF, 0x7B, 0x7B, 0x7B, 0x00]);

        var manifestPath = Path.Combine(folder, "manifest.csv");
        await File.WriteAllTextAsync(manifestPath, manifest.ToString(), cancellationToken).ConfigureAwait(false);
        return new DemoCorpusInfo(folder, manifestPath, videos + broken.Count, broken, ["demo001"]);
    }

    private static string WriteCaption(string folder, string id, int index, double seconds)
    {
        var lines = Enumerable.Range(0, 3).Select(k => Sentences[(index + k) % Sentences.Length]).ToArray();
        var step = seconds / lines.Length;
        switch (index % 3)
        {
            case 0:
            {
                var json = new StringBuilder("{\"start\": [");
                json.AppendJoin(", ", lines.Select((_, k) => (k * step).ToString("0.###", CultureInfo.InvariantCulture)));
                json.Append("], \"end\": [");
                json.AppendJoin(", ", lines.Select((_, k) => ((k + 1) * step).ToString("0.###", CultureInfo.InvariantCulture)));
                json.Append("], \"text\": [");
                json.AppendJoin(", ", lines.Select(l => $"\"{l}\""));
                json.Append("]}\n");
                File.WriteAllText(Path.Combine(folder, "captions", id + ".json"), json.ToString());
                return $"captions/{id}.json";
            }

            case 1:
            {
                // YouTube auto-caption style: each cue repeats the previous line and adds the new words.
                var vtt = new StringBuilder("WEBVTT\nKind: captions\nLanguage: en\n\n");
                var previous = string.Empty;
                for (var k = 0; k < lines.Length; k++)
                {
                    var start = TimeSpan.FromSeconds(k * step);
                    var end = TimeSpan.FromSeconds((k + 1) * step);
                    vtt.Append(CultureInfo.InvariantCulture, $"{start:hh\\:mm\\:ss\\.fff} --> {end:hh\\:mm\\:ss\\.fff} align:start position:0%\n");
                    vtt.Append(previous.Length > 0 ? previous + "\n" : string.Empty);
                    // The line being spoken carries inline word timings, the auto-caption signature the reader's
                    // rolling collapse looks for: the first word plain, each later one as <time><c> word</c>.
                    var words = lines[k].Split(' ');
                    vtt.Append(words[0]);
                    for (var w = 1; w < words.Length; w++)
                    {
                        var at = start + ((end - start) * w / words.Length);
                        vtt.Append(CultureInfo.InvariantCulture, $"<{at:hh\\:mm\\:ss\\.fff}><c> {words[w]}</c>");
                    }

                    vtt.Append("\n\n");
                    previous = lines[k];
                }

                File.WriteAllText(Path.Combine(folder, "captions", id + ".vtt"), vtt.ToString());
                return $"captions/{id}.vtt";
            }

            default:
            {
                var srt = new StringBuilder();
                for (var k = 0; k < lines.Length; k++)
                {
                    var start = TimeSpan.FromSeconds(k * step);
                    var end = TimeSpan.FromSeconds((k + 1) * step);
                    srt.Append(CultureInfo.InvariantCulture, $"{k + 1}\r\n{start:hh\\:mm\\:ss\\,fff} --> {end:hh\\:mm\\:ss\\,fff}\r\n<i>{lines[k]}</i>\r\n\r\n");
                }

                File.WriteAllText(Path.Combine(folder, "captions", id + ".srt"), srt.ToString());
                return $"captions/{id}.srt";
            }
        }
    }

    private static async Task FfmpegAsync(IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-hide_banner", "-loglevel", "error", "-nostdin" }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("The demo corpus is generated with the ffmpeg command-line program, which is not installed: run infra/scripts/setup.sh (apt-get install ffmpeg).", ex);
        }

        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"ffmpeg {string.Join(' ', start.ArgumentList)} failed with exit code {process.ExitCode}: {(await stderr.ConfigureAwait(false)).Trim()}");
            }
        }
    }
}
