using VideoData.Core.Scheduling;
using VideoData.Media.Decode;
using VideoData.Testing.Videos;

namespace VideoData.Media.Tests.Decode;

/// <summary>A decode that shares <see cref="CpuTurns"/> with an encoder pauses while a pass holds the cores.</summary>
public sealed class CpuTurnsDecodeTests
{
    [Fact(Timeout = 120_000)]
    public async Task Decode_WhileTheCoresAreHeld_WaitsWithoutTimingOutThenGivesTheSameFrames()
    {
        var path = TestVideos.Generate("turns_h264_3s_320x180.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p");
        var options = new DecodeOptions { Decoder = DecoderPreference.Cpu, Threads = 1, WatchdogTimeout = TimeSpan.FromMilliseconds(300) };
        var (expected, _) = await FrameComparison.DecodeAllAsync(path, options);

        var turns = new CpuTurns();
        var hold = turns.Hold();
        var chunks = 0;
        using var frames = new MemoryStream();
        var decode = Task.Run(async () =>
        {
            await foreach (var chunk in VideoDecoder.DecodeAsync(path, options with { Turns = turns }))
            {
                using (chunk)
                {
                    Interlocked.Increment(ref chunks);
                    frames.Write(chunk.Pixels);
                }
            }
        });

        // Held for more than three watchdog periods: the decode waits for its turn (before its first packet), and that
        // wait is not a stall.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        Assert.False(decode.IsCompleted, decode.Exception?.ToString());
        Assert.Equal(0, Volatile.Read(ref chunks));
        Assert.True(turns.Waits >= 1);

        hold.Dispose();
        await decode.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(3, chunks);
        Assert.Equal(expected, frames.ToArray());
    }
}
