// Encodes SECONDS seconds of synthetic 30×224×224 RGB24 video with S3dEncoder and prints throughput.
//   FeaturesBench WEIGHTS SECONDS BATCH THREADS DEVICE [WARMUP]
// Output (one line): "ours seconds=N wall=S rate=R" where R is seconds of video per second of wall time,
// measured after one warm-up batch (model load and first-call costs excluded, as for the peer). WARMUP=0 skips the
// warm-up, so the process does exactly SECONDS seconds of encoding: the stage alone, for timing the whole process.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using VideoData.Core.Frames;
using VideoData.Features.Extraction;
using VideoData.Features.Runtime;

var weights = args[0];
var seconds = int.Parse(args[1], CultureInfo.InvariantCulture);
var batch = int.Parse(args[2], CultureInfo.InvariantCulture);
var threads = int.Parse(args[3], CultureInfo.InvariantCulture);
var device = args.Length > 4 ? args[4] : "cpu";
var warmup = args.Length <= 5 || args[5] != "0";
const int Fps = 30, Size = 224;

// A few distinct seconds of random pixels, reused: content does not change the encoder's cost.
var random = new Random(20261125);
var pool = Enumerable.Range(0, 4).Select(_ =>
{
    var bytes = new byte[Fps * Size * Size * 3];
    random.NextBytes(bytes);
    return bytes;
}).ToArray();

async IAsyncEnumerable<FrameChunk> Chunks(int count, [EnumeratorCancellation] CancellationToken ct = default)
{
    await Task.CompletedTask;
    for (var s = 0; s < count; s++)
    {
        yield return new FrameChunk(s, Fps, Size, pool[s % pool.Length], TimeSpan.FromSeconds(s));
    }
}

// As the CLI does: the main thread runs the encoder (its build and every pass) on a compute host; the rest on the pool.
var mainThread = ComputeThread.ForCurrentThread();
return mainThread.Serve(async () =>
{
    using var host = ComputeHost.Start(new ComputeHostOptions { IntraOpThreads = threads, NativeHeap = NativeHeapPolicy.Reuse }, mainThread);
    using var encoder = S3dEncoder.Create(weights, new S3dEncoderOptions { Device = device, SecondsPerBatch = batch, Threads = threads }, host);
    if (warmup)
    {
        await encoder.EncodeVideoAsync("warmup", Chunks(batch));
    }

    var clock = Stopwatch.StartNew();
    var features = await encoder.EncodeVideoAsync("bench", Chunks(seconds));
    clock.Stop();
    if (features.Seconds != seconds)
    {
        throw new InvalidOperationException($"encoded {features.Seconds} seconds, expected {seconds}");
    }

    var wall = clock.Elapsed.TotalSeconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ours seconds={seconds} wall={wall:F3} rate={seconds / wall:F4} device={encoder.DeviceName} precision={encoder.PrecisionName}"));
    return 0;
});
