using System.Globalization;
using System.Text.Json;
using VideoData.Testing;
using VideoData.Testing.Videos;

namespace VideoData.Pipeline.Tests.Run;

/// <summary>A long video passes through with memory bounded by the channels, not by the video's length.</summary>
[Collection(PipelineCollection.Name)]
public sealed class MemoryBoundTests : IDisposable
{
    private const int Fps = 4;
    private const int Size = 96;
    private const int Minutes = 20;
    private const int EncoderBatchSeconds = 16;
    private readonly string _dir = Directory.CreateTempSubdirectory("videodata-memory-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Preprocess_TwentyMinuteVideo_PeakMemoryFarBelowItsFrames()
    {
        var video = TestVideos.Generate("twenty_minutes_160x120_10fps.mp4",
            "-f", "lavfi", "-i", $"testsrc2=size=160x120:rate=10:duration={Minutes * 60}", "-c:v", "libx264", "-preset", "ultrafast", "-g", "300", "-pix_fmt", "yuv420p");
        var manifest = Path.Combine(_dir, "manifest.csv");
        await File.WriteAllTextAsync(manifest, $"video_id,uri\nlong_video_01,{Path.GetFileName(video)}\n");
        var output = Path.Combine(_dir, "out");

        const int decodedSecondsCapacity = 8;
        // A small gen0 budget, one malloc arena and a low mmap threshold (not the default heap policy, which keeps freed blocks
        // and so settles later, ~40 MB higher) keep garbage and allocator slack from hiding
        // in the resident size (tens of MB of drift otherwise); they change nothing the pipeline holds.
        using var process = VideoDataCli.Start(new Dictionary<string, string?> { ["DOTNET_GCgen0size"] = "0x400000", ["MALLOC_ARENA_MAX"] = "1" },
        [
            "preprocess", "--manifest", manifest, "--output", output, "--progress", "json", "--progress-interval", "0.5", "--set", $"source_root={Path.GetDirectoryName(video)}",
            "--set", $"decode.fps={Fps}", "--set", $"decode.size={Size}", "--set", "decode.decoder=cpu", "--set", "decode.threads=1",
            "--set", $"encoder.seconds_per_batch={EncoderBatchSeconds}", "--set", "stages.decode_parallelism=1",
            "--set", $"stages.decoded_seconds_capacity={decodedSecondsCapacity}", "--set", "decode.timeout_seconds=120", "--set", "encoder.native_heap=threshold", "--set", "encoder.native_mmap_threshold_mib=1",
        ]);
        var stderr = process.StandardError.ReadToEndAsync();
        var encoderPhase = 0;
        var log = new System.Text.StringBuilder();
        var stdout = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                log.AppendLine(line);
                // Streaming starts with the first progress record after a batch went through the encoder (it has taken
                // more than one batch of seconds, live within the video: libtorch's buffers exist by now) and ends when
                // the encoder has taken every second; what follows is the shard write, which holds features, not frames.
                if (line.Contains("\"event\":\"progress\"", StringComparison.Ordinal))
                {
                    var taken = JsonDocument.Parse(line).RootElement.GetProperty("seconds_into_encoder").GetInt64();
                    Interlocked.Exchange(ref encoderPhase, taken >= Minutes * 60 ? 3 : taken >= Minutes * 30 ? 2 : taken > EncoderBatchSeconds ? 1 : 0);
                }
            }

            return log.ToString();
        });

        // Resident memory sampled while it runs: the level once the encoder is busy, and the peaks while the first and
        // the second half of the video stream.
        long? settled = null;
        long firstHalfPeak = 0, secondHalfPeak = 0;
        var samples = 0;
        while (!process.HasExited)
        {
            if (ResidentBytes(process.Id) is { } rss)
            {
                samples++;
                var phase = Volatile.Read(ref encoderPhase);
                if (settled is null && phase == 1)
                {
                    settled = rss;
                }

                if (settled is not null && phase == 1)
                {
                    firstHalfPeak = Math.Max(firstHalfPeak, rss);
                }

                if (settled is not null && phase == 2)
                {
                    secondHalfPeak = Math.Max(secondHalfPeak, rss);
                }
            }

            await Task.Delay(100);
        }

        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await stderr}{await stdout}");
        var records = await PipelineCorpus.ReadShardsAsync(Path.Combine(output, "shards"));
        Assert.Equal(Minutes * 60, Assert.Single(records.Values).Seconds);

        // What holding the video's frames would take, against what the channels allow in flight: the per-video
        // channel plus one encoder batch plus the chunk being decoded, with generous room for allocator noise.
        var chunkBytes = (long)Fps * Size * Size * 3;
        var allFrames = Minutes * 60 * chunkBytes;
        var channelBound = (decodedSecondsCapacity + EncoderBatchSeconds + 2) * chunkBytes;
        Assert.True(settled is not null, $"no progress record after the encoder started, in {samples} samples; output: {await stdout}");
        Assert.True(secondHalfPeak > 0, $"no resident sample while the second half streamed, in {samples} samples");
        var growth = Math.Max(firstHalfPeak, secondHalfPeak) - settled!.Value;
        Assert.True(growth < allFrames / 2, string.Create(CultureInfo.InvariantCulture,
            $"memory grew by {growth / 1e6:F1} MB after the encoder started; the video's frames are {allFrames / 1e6:F1} MB and the channels hold at most {channelBound / 1e6:F1} MB"));

        // Memory bounded by the channels does not grow with the length streamed: holding frames, the second half would add
        // half the video's frames (66 MB) over the first half's peak; allocator and runtime warm-up settle within the first.
        var secondHalfGrowth = secondHalfPeak - firstHalfPeak;
        Assert.True(secondHalfGrowth < allFrames / 8, string.Create(CultureInfo.InvariantCulture,
            $"memory grew by {secondHalfGrowth / 1e6:F1} MB more while the second half streamed (first-half peak {firstHalfPeak / 1e6:F1} MB); half the video's frames are {allFrames / 2e6:F1} MB"));
    }

    private static long? ResidentBytes(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
