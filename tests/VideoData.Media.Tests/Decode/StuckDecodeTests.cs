using System.Diagnostics;
using VideoData.Core.Failures;
using VideoData.Media.Decode;
using VideoData.Testing;
using VideoData.Testing.Videos;

namespace VideoData.Media.Tests.Decode;

/// <summary>Runs alone: it counts <see cref="VideoDecoder.AbandonedDecodes"/>, which other decodes would move.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AbandonedDecodeCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Abandoned decode threads";
}

/// <summary>
/// A decode stuck in a call that never returns (here a blocking read(2) on a FIFO whose writer went quiet: the
/// kernel call cannot be interrupted from .NET, nor FFmpeg's interrupt callback consulted) is given up by the
/// watchdog: the worker gets its <c>timeout</c> failure, decodes the next video, and the abandoned thread ends and
/// frees what it holds when the call returns.
/// </summary>
[Collection(AbandonedDecodeCollection.Name)]
public sealed class StuckDecodeTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("videodata-stuck-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact(Timeout = 120_000)]
    public async Task Decode_ReadThatNeverReturns_WorkerGetsTimeoutGoesOnAndTheThreadEndsWhenReleased()
    {
        var baseline = VideoDecoder.AbandonedDecodes;
        var fifo = Path.Combine(_folder, "stuck.mp4");
        DeviceNodes.CreateFifo(fifo);
        var bytes = File.ReadAllBytes(TestVideos.Get(TestVideoCatalog.Faststart));
        using var release = new ManualResetEventSlim();
        var writer = Task.Run(() =>
        {
            // Half the file, then silence with the FIFO held open: the reader blocks inside read(2).
            using var stream = new FileStream(fifo, FileMode.Open, FileAccess.Write);
            stream.Write(bytes, 0, bytes.Length / 2);
            stream.Flush();
            release.Wait();
        });
        var options = new DecodeOptions { Decoder = DecoderPreference.Cpu, WatchdogTimeout = TimeSpan.FromMilliseconds(500) };

        // The worker's loop: one video after the other on the same caller.
        var stuck = await Assert.ThrowsAnyAsync<VideoDataException>(async () =>
        {
            await foreach (var chunk in VideoDecoder.DecodeAsync(fifo, options))
            {
                chunk.Dispose();
            }
        });
        Assert.Equal(FailureClass.Timeout, stuck.FailureClass);
        Assert.Contains(fifo, stuck.Message, StringComparison.Ordinal);
        Assert.Equal(baseline + 1, VideoDecoder.AbandonedDecodes);

        var next = 0;
        await foreach (var chunk in VideoDecoder.DecodeAsync(TestVideos.Get(TestVideoCatalog.H264At30Fps), options))
        {
            next += chunk.FrameCount;
            chunk.Dispose();
        }

        Assert.Equal(60, next);
        Assert.Equal(baseline + 1, VideoDecoder.AbandonedDecodes);

        // The stuck call returns (end of file): the abandoned thread sees its abort, frees its objects and ends.
        release.Set();
        await writer;
        var clock = Stopwatch.StartNew();
        while (VideoDecoder.AbandonedDecodes > baseline && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(50);
        }

        Assert.Equal(baseline, VideoDecoder.AbandonedDecodes);
    }
}
