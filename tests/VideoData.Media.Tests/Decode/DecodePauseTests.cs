using VideoData.Media.Decode;
using VideoData.Testing.Videos;

namespace VideoData.Media.Tests.Decode;

/// <summary>A decode given a <see cref="DecodeOptions.WaitForCores"/> hook pauses while the hook holds it (an encoder pass holding the cores).</summary>
public sealed class DecodePauseTests
{
    [Fact(Timeout = 120_000)]
    public async Task Decode_WhileTheCoresAreHeld_WaitsWithoutTimingOutThenGivesTheSameFrames()
    {
        var path = TestVideos.Generate("turns_h264_3s_320x180.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p");
        var options = new DecodeOptions { Decoder = DecoderPreference.Cpu, Threads = 1, WatchdogTimeout = TimeSpan.FromMilliseconds(300) };
        var (expected, _) = await FrameComparison.DecodeAllAsync(path, options);

        // The cores as a compute pass holds them: set while free.
        using var free = new ManualResetEventSlim(initialState: false);
        var waits = 0;
        bool WaitForCores(CancellationToken cancellationToken)
        {
            if (free.IsSet)
            {
                return false;
            }

            Interlocked.Increment(ref waits);
            free.Wait(cancellationToken);
            return true;
        }

        var chunks = 0;
        using var frames = new MemoryStream();
        var decode = Task.Run(async () =>
        {
            await foreach (var chunk in VideoDecoder.DecodeAsync(path, options with { WaitForCores = WaitForCores }))
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
        Assert.True(Volatile.Read(ref waits) >= 1);

        free.Set();
        await decode.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(3, chunks);
        Assert.Equal(expected, frames.ToArray());
    }
}
