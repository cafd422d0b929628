using VideoData.Media.Decode;
using VideoData.Testing.Videos;

namespace VideoData.Media.Tests.Decode;

/// <summary>
/// Decodes running at the same time in one process (the pipeline's many-videos case) share no
/// state: each gives exactly the bytes it gives when run alone.
/// </summary>
public sealed class ConcurrentDecodeTests
{
    [Fact]
    public async Task DecodeAsync_SixDecodesAtOnce_SameBytesAsEachDecodedAlone()
    {
        // Three different inputs (codecs, sizes, frame rates, hence different scaler and sampler
        // state), each decoded twice: once with one decoder thread, once with frame threading.
        var videos = new[]
        {
            TestVideos.Generate("concurrent_h264_6s_320x180.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=6", "-vf", "noise=alls=8:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
            TestVideos.Generate("concurrent_h264_5s_25fps_176x144.mp4", "-f", "lavfi", "-i", "testsrc2=size=176x144:rate=25:duration=5", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
            TestVideos.Generate("concurrent_vp9_5s_161x97.webm", "-f", "lavfi", "-i", "testsrc2=size=161x97:rate=30:duration=5", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-pix_fmt", "yuv420p"),
        };
        var decodes = videos
            .SelectMany(path => new[] { 1, 2 }.Select(threads => (Path: path, Options: new DecodeOptions { Decoder = DecoderPreference.Cpu, Threads = threads })))
            .ToArray();

        var alone = new List<byte[]>();
        foreach (var (path, options) in decodes)
        {
            alone.Add((await FrameComparison.DecodeAllAsync(path, options)).Frames);
        }

        // Every consumer holds after its first chunk until all decodes have delivered one, so all
        // six sessions are open and mid-video at the same moment (each video is 5+ chunks long and
        // the channel lets a decoder run at most three ahead), then they all run to the end at once.
        var firstChunks = 0;
        var allStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var together = await Task.WhenAll(decodes.Select(async decode =>
        {
            using var frames = new MemoryStream();
            var chunks = 0;
            await foreach (var chunk in VideoDecoder.DecodeAsync(decode.Path, decode.Options))
            {
                using (chunk)
                {
                    frames.Write(chunk.Pixels);
                }

                if (++chunks == 1)
                {
                    if (Interlocked.Increment(ref firstChunks) == decodes.Length)
                    {
                        allStarted.SetResult();
                    }

                    await allStarted.Task.WaitAsync(TimeSpan.FromMinutes(5));
                }
            }

            Assert.True(chunks >= 5, $"{Path.GetFileName(decode.Path)}: {chunks} chunks, expected at least 5");
            return frames.ToArray();
        }));

        for (var i = 0; i < decodes.Length; i++)
        {
            var name = $"{Path.GetFileName(decodes[i].Path)} (threads {decodes[i].Options.Threads})";
            Assert.True(alone[i].Length > 0, $"{name}: no frames");
            Assert.True(alone[i].AsSpan().SequenceEqual(together[i]), $"{name}: the concurrent decode differs from the decode alone ({together[i].Length} vs {alone[i].Length} bytes)");
        }
    }
}
