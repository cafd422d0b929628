using System.Runtime.CompilerServices;
using VideoData.Core.Failures;
using VideoData.Core.Frames;
using VideoData.Features.Extraction;
using VideoData.Features.Runtime;
using VideoData.Features.Tests.Model;
using VideoData.Features.Weights;
using static TorchSharp.torch;

namespace VideoData.Features.Tests.Extraction;

[Collection(TorchCollection.Name)]
public sealed class S3dEncoderTests
{
    private const int SmallSize = 112;
    private const int SmallFrames = 16;

    private static readonly Lazy<StateDict> s_weights = new(() => WeightsFile.Load(Path.Combine(S3dParityTests.ParityDir, "s3d_weights.safetensors")));
    private static readonly Lazy<StateDict> s_golden = new(() => WeightsFile.Load(Path.Combine(S3dParityTests.ParityDir, "s3d_golden_io.safetensors")));

    private static S3dEncoder SmallEncoder(int secondsPerBatch, bool l2 = false, bool mixed = true) => S3dEncoder.Create(s_weights.Value, new S3dEncoderOptions
    {
        SecondsPerBatch = secondsPerBatch,
        FrameSize = SmallSize,
        FramesPerSecond = SmallFrames,
        L2Normalize = l2,
        IncludeMixed5c = mixed,
    });

    /// <summary>Golden input B×3×T×H×W (uint8) → one frame-major RGB24 chunk per clip.</summary>
    private static byte[][] GoldenSeconds(string name)
    {
        using var scope = NewDisposeScope();
        var input = S3dParityTests.ToTensor(s_golden.Value["input_" + name]);
        return Enumerable.Range(0, (int)input.shape[0])
            .Select(b => input[b].permute(1, 2, 3, 0).contiguous().data<byte>().ToArray())
            .ToArray();
    }

    private static float[] Golden(string name) => S3dParityTests.ToTensor(s_golden.Value[name]).data<float>().ToArray();

    private static async IAsyncEnumerable<FrameChunk> Chunks(IEnumerable<byte[]> seconds, int size, int fps, Action? onReturn = null, int? failAt = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var i = 0;
        foreach (var pixels in seconds)
        {
            await Task.Yield();
            if (i == failAt)
            {
                throw new VideoDataException(FailureClass.Decode, $"synthetic decode failure at second {i}");
            }

            var frames = pixels.Length / (size * size * 3);
            yield return new FrameChunk(i, frames, size, pixels, TimeSpan.FromSeconds(i), _ => onReturn?.Invoke());
            i++;
        }
    }

    private static byte[][] RandomSeconds(int count, int seed, int lastFrames = SmallFrames)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(s =>
        {
            var frames = s == count - 1 ? lastFrames : SmallFrames;
            var bytes = new byte[frames * SmallSize * SmallSize * 3];
            random.NextBytes(bytes);
            return bytes;
        }).ToArray();
    }

    private static async Task<List<EncodedVideo>> EncodeAllAsync(S3dEncoder encoder, params (string Id, byte[][] Seconds)[] videos)
    {
        async IAsyncEnumerable<VideoFrames> Source()
        {
            foreach (var (id, seconds) in videos)
            {
                await Task.Yield();
                yield return new VideoFrames(id, Chunks(seconds, SmallSize, SmallFrames));
            }
        }

        var results = new List<EncodedVideo>();
        await foreach (var r in encoder.EncodeAsync(Source()))
        {
            results.Add(r);
        }

        return results;
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var maxRef = expected.DefaultIfEmpty(0).Max(MathF.Abs);
        var maxDiff = expected.Zip(actual, (a, b) => MathF.Abs(a - b)).DefaultIfEmpty(0).Max();
        var tolerance = (1e-4f * maxRef) + 1e-5f;
        Assert.True(maxDiff <= tolerance, $"{what}: max|Δ| = {maxDiff:E3} exceeds {tolerance:E3}");
    }

    [Fact]
    public async Task EncodeVideo_GoldenSmallClipsAsChunks_MatchReference()
    {
        using var encoder = SmallEncoder(secondsPerBatch: 2);

        var features = await encoder.EncodeVideoAsync("golden", Chunks(GoldenSeconds("small"), SmallSize, SmallFrames));

        Assert.Equal(2, features.Seconds);
        AssertClose(Golden("video_embedding_small"), features.Embeddings, "video_embedding");
        AssertClose(Golden("mixed_5c_small"), features.Mixed5c!, "mixed_5c");
    }

    [Fact]
    public async Task EncodeVideo_GoldenMmptSecondAtFullSize_MatchesReference()
    {
        using var encoder = S3dEncoder.Create(s_weights.Value, new S3dEncoderOptions { L2Normalize = false, IncludeMixed5c = true, SecondsPerBatch = 1 });

        var features = await encoder.EncodeVideoAsync("mmpt", Chunks(GoldenSeconds("mmpt"), 224, 30));

        AssertClose(Golden("video_embedding_mmpt"), features.Embeddings, "video_embedding");
        AssertClose(Golden("mixed_5c_mmpt"), features.Mixed5c!, "mixed_5c");
    }

    [Fact]
    public void EncodeVideo_OnAHostOnTheLentMainThread_MatchesTheReferenceAndEndsCleanly()
    {
        // As in the CLI: the caller runs on the pool and the build, the forward passes and the disposal on the serving thread.
        var serving = ComputeThread.ForCurrentThread();
        var features = serving.Serve(async () =>
        {
            using var host = ComputeHost.Start(thread: serving);
            using var encoder = S3dEncoder.Create(s_weights.Value, new S3dEncoderOptions
            {
                SecondsPerBatch = 1,
                FrameSize = SmallSize,
                FramesPerSecond = SmallFrames,
                L2Normalize = false,
                IncludeMixed5c = true,
            }, host);
            var encoded = await encoder.EncodeVideoAsync("golden", Chunks(GoldenSeconds("small"), SmallSize, SmallFrames));
            Assert.Equal(2, encoded.Seconds);
            AssertClose(Golden("video_embedding_small"), encoded.Embeddings, "video_embedding");
            AssertClose(Golden("mixed_5c_small"), encoded.Mixed5c!, "mixed_5c");
            using var stop = new CancellationTokenSource();
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => encoder.EncodeVideoAsync("stopped", Chunks(GoldenSeconds("small"), SmallSize, SmallFrames), stop.Token));
            return encoded.Seconds;
        });

        Assert.Equal(2, features);
    }

    [Fact]
    public async Task Encode_OnAHost_HoldsTheCoresForEveryPassAndNowhereElse()
    {
        using var host = ComputeHost.Start();
        using var encoder = S3dEncoder.Create(s_weights.Value, new S3dEncoderOptions
        {
            SecondsPerBatch = 1,
            FrameSize = SmallSize,
            FramesPerSecond = SmallFrames,
            L2Normalize = false,
        }, host);
        using var plain = SmallEncoder(secondsPerBatch: 1, mixed: false);
        var seconds = RandomSeconds(3, seed: 7);
        var heldWhileProducing = new List<bool>();

        async IAsyncEnumerable<FrameChunk> Watched()
        {
            await foreach (var chunk in Chunks(seconds, SmallSize, SmallFrames))
            {
                heldWhileProducing.Add(host.IsBusy);
                yield return chunk;
            }
        }

        // A decoder's stand-in: checks in for its turn over and over until the encode is done.
        using var done = new CancellationTokenSource();
        var decoder = Task.Factory.StartNew(
            () =>
            {
                while (!done.IsCancellationRequested)
                {
                    host.WaitForTurn(CancellationToken.None);
                    Thread.Sleep(1);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        var features = await encoder.EncodeVideoAsync("v", Watched());
        await done.CancelAsync();
        await decoder.WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(3, features.Seconds);
        Assert.Equal([false, false, false], heldWhileProducing);
        Assert.True(host.TurnWaits >= 1, "the stand-in decoder never had to wait: no pass held the turns");
        Assert.False(host.IsBusy);
        // Taking turns changes when passes run, not what they compute.
        Assert.Equal((await plain.EncodeVideoAsync("v", Chunks(seconds, SmallSize, SmallFrames))).Embeddings, features.Embeddings);
    }

    [Fact]
    public async Task Encode_BatchesAcrossVideos_SameFeaturesAsOneSecondAtATime()
    {
        var videos = new[]
        {
            ("three", RandomSeconds(3, seed: 1)),
            ("none", Array.Empty<byte[]>()),
            ("partial", RandomSeconds(2, seed: 2, lastFrames: 5)),
        };
        using var batched = SmallEncoder(secondsPerBatch: 4);
        using var single = SmallEncoder(secondsPerBatch: 1);

        var a = await EncodeAllAsync(batched, videos);
        var b = await EncodeAllAsync(single, videos);

        Assert.Equal(["three", "none", "partial"], a.Select(r => r.VideoId));
        Assert.Equal([3, 0, 2], a.Select(r => r.Features!.Seconds));
        for (var i = 0; i < 3; i++)
        {
            AssertClose(b[i].Features!.Embeddings, a[i].Features!.Embeddings, a[i].VideoId);
            AssertClose(b[i].Features!.Mixed5c!, a[i].Features!.Mixed5c!, a[i].VideoId + " mixed_5c");
        }
    }

    [Fact]
    public async Task Encode_PartialLastSecond_IsZeroPaddedToAFullSecond()
    {
        var partial = RandomSeconds(1, seed: 3, lastFrames: 5);
        var padded = new byte[SmallFrames * SmallSize * SmallSize * 3];
        partial[0].CopyTo(padded, 0);
        using var encoder = SmallEncoder(secondsPerBatch: 1);

        var results = await EncodeAllAsync(encoder, ("partial", partial), ("padded", [padded]));

        Assert.Equal(results[1].Features!.Embeddings, results[0].Features!.Embeddings);
    }

    [Fact]
    public async Task Encode_L2Normalize_GivesUnitRows()
    {
        using var encoder = SmallEncoder(secondsPerBatch: 3, l2: true, mixed: false);

        var result = (await EncodeAllAsync(encoder, ("v", RandomSeconds(3, seed: 4))))[0].Features!;

        Assert.Null(result.Mixed5c);
        for (var s = 0; s < 3; s++)
        {
            var norm = MathF.Sqrt(result.Embeddings.AsSpan(s * 512, 512).ToArray().Sum(v => v * v));
            Assert.InRange(norm, 0.9999f, 1.0001f);
        }
    }

    [Fact]
    public async Task Encode_DecodeFailureMidVideo_FailsThatVideoOnly()
    {
        using var encoder = SmallEncoder(secondsPerBatch: 4);
        var good = RandomSeconds(2, seed: 5);
        var returned = 0;

        async IAsyncEnumerable<VideoFrames> Source()
        {
            await Task.Yield();
            yield return new VideoFrames("bad", Chunks(RandomSeconds(3, seed: 6), SmallSize, SmallFrames, () => Interlocked.Increment(ref returned), failAt: 2));
            yield return new VideoFrames("wrong-size", Chunks([new byte[SmallFrames * 64 * 64 * 3]], 64, SmallFrames, () => Interlocked.Increment(ref returned)));
            yield return new VideoFrames("good", Chunks(good, SmallSize, SmallFrames, () => Interlocked.Increment(ref returned)));
        }

        var results = new List<EncodedVideo>();
        await foreach (var r in encoder.EncodeAsync(Source()))
        {
            results.Add(r);
        }

        Assert.Equal(["bad", "wrong-size", "good"], results.Select(r => r.VideoId));
        Assert.Equal(FailureClass.Decode, results[0].Failure!.FailureClass);
        Assert.Equal(FailureClass.Encode, results[1].Failure!.FailureClass);
        Assert.Contains("wrong-size", results[1].Failure!.Message);
        Assert.Contains("64×64", results[1].Failure!.Message);
        Assert.True(results[2].Succeeded);
        using var reference = SmallEncoder(secondsPerBatch: 2);
        var expected = (await EncodeAllAsync(reference, ("good", good)))[0].Features!;
        AssertClose(expected.Embeddings, results[2].Features!.Embeddings, "good");

        // Every chunk handed over was disposed (2 of "bad" before its failure, 1 wrong-size, 2 good).
        Assert.Equal(5, returned);
    }

    [Fact]
    public async Task Encode_NonFiniteFeaturesForOneVideo_FailThatVideoNamingTheSecond_TheOthersInTheBatchSucceed()
    {
        // conv1's weights at 3e38 overflow to infinity on any lit pixel (and to NaN a layer later, where weights of both
        // signs meet), while an all-black second stays exactly 0 there and finite throughout: a real forward pass whose
        // output is non-finite for one video of a batch only.
        using var encoder = S3dEncoder.Create(OverflowingWeights(), new S3dEncoderOptions
        {
            SecondsPerBatch = 4,
            FrameSize = SmallSize,
            FramesPerSecond = SmallFrames,
            L2Normalize = true,
            IncludeMixed5c = false,
        });
        var black = new byte[SmallFrames * SmallSize * SmallSize * 3];
        var returned = 0;

        async IAsyncEnumerable<VideoFrames> Source()
        {
            await Task.Yield();
            // One batch of 4 seconds: "dark" (1), "lit" (2, its seconds in the batch's middle), "dark-after" (1); then the
            // rest of "lit-long" runs on after the batch that failed it.
            yield return new VideoFrames("dark", Chunks([black], SmallSize, SmallFrames, () => Interlocked.Increment(ref returned)));
            yield return new VideoFrames("lit", Chunks(RandomSeconds(2, seed: 7), SmallSize, SmallFrames, () => Interlocked.Increment(ref returned)));
            yield return new VideoFrames("lit-long", Chunks([.. RandomSeconds(5, seed: 8)], SmallSize, SmallFrames, () => Interlocked.Increment(ref returned)));
            yield return new VideoFrames("dark-after", Chunks([black, black], SmallSize, SmallFrames, () => Interlocked.Increment(ref returned)));
        }

        var results = new List<EncodedVideo>();
        await foreach (var r in encoder.EncodeAsync(Source()))
        {
            results.Add(r);
        }

        Assert.Equal(["dark", "lit", "lit-long", "dark-after"], results.Select(r => r.VideoId));
        foreach (var dark in new[] { results[0], results[3] })
        {
            Assert.True(dark.Succeeded, dark.Failure?.Message);
            Assert.All(dark.Features!.Embeddings, v => Assert.True(float.IsFinite(v)));
        }

        foreach (var (lit, id) in new[] { (results[1], "lit"), (results[2], "lit-long") })
        {
            Assert.False(lit.Succeeded);
            Assert.Equal(FailureClass.Encode, lit.Failure!.FailureClass);
            Assert.Contains($"Video '{id}'", lit.Failure.Message, StringComparison.Ordinal);
            Assert.Contains("second 0", lit.Failure.Message, StringComparison.Ordinal);
            Assert.Contains("non-finite", lit.Failure.Message, StringComparison.Ordinal);
        }

        // Every chunk was taken and disposed, those of "lit-long" after its failure included (1 + 2 + 5 + 2).
        Assert.Equal(10, returned);
    }

    /// <summary>The test weights with conv1's kernel set to 3e38: finite weights whose output overflows on any lit input.</summary>
    private static StateDict OverflowingWeights()
    {
        var tensors = s_weights.Value.Tensors.Select(t =>
        {
            if (t.Name != "conv1.conv1.weight")
            {
                return t;
            }

            Assert.Equal(WeightDType.Float32, t.DType);
            var values = new float[t.Data.Length / sizeof(float)];
            Array.Fill(values, 3e38f);
            return new WeightTensor(t.Name, t.DType, t.Shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        });
        return new StateDict("test weights with an overflowing conv1", "safetensors", [.. tensors]);
    }

    [Theory]
    [InlineData("tpu", 8, "Device")]
    [InlineData("cpu", 0, "SecondsPerBatch")]
    [InlineData("cpu", 257, "SecondsPerBatch")]
    public void Create_BadOption_NamesIt(string device, int secondsPerBatch, string option)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => S3dEncoder.Create(s_weights.Value, new S3dEncoderOptions { Device = device, SecondsPerBatch = secondsPerBatch }));

        Assert.Contains(option, ex.Message);
    }

    [Fact]
    public void Create_Float16OnCpu_IsRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => S3dEncoder.Create(s_weights.Value, new S3dEncoderOptions { Precision = EncoderPrecision.Float16 }));

        Assert.Contains("Float16", ex.Message);
    }
}
