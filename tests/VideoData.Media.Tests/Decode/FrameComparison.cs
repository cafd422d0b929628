using VideoData.Core.Frames;
using VideoData.Media.Decode;

namespace VideoData.Media.Tests.Decode;

/// <summary>Decodes with our decoder into one byte array and compares frames with PSNR.</summary>
internal static class FrameComparison
{
    public static async Task<(byte[] Frames, List<(int Second, int Count, TimeSpan Start)> Chunks)> DecodeAllAsync(string path, DecodeOptions options, DecodeStatistics? statistics = null)
    {
        using var all = new MemoryStream();
        var chunks = new List<(int, int, TimeSpan)>();
        await foreach (var chunk in VideoDecoder.DecodeAsync(path, options, statistics ?? new DecodeStatistics()))
        {
            using (chunk)
            {
                chunks.Add((chunk.SecondIndex, chunk.FrameCount, chunk.StartTime));
                all.Write(chunk.Pixels);
            }
        }

        return (all.ToArray(), chunks);
    }

    /// <summary>PSNR in dB of one frame against the reference (infinity when identical).</summary>
    public static double Psnr(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected)
    {
        long sum = 0;
        for (var i = 0; i < actual.Length; i++)
        {
            var d = actual[i] - expected[i];
            sum += d * d;
        }

        if (sum == 0)
        {
            return double.PositiveInfinity;
        }

        var mse = (double)sum / actual.Length;
        return 10 * Math.Log10(255.0 * 255.0 / mse);
    }

    /// <summary>Asserts the same frame count and every frame at or above <paramref name="minimumPsnr"/> dB.</summary>
    public static void AssertMatches(byte[] expected, byte[] actual, int size, string name, double minimumPsnr = 40)
    {
        var frameBytes = size * size * 3;
        Assert.True(expected.Length % frameBytes == 0, $"{name}: reference output is not whole frames");
        Assert.True(expected.Length > 0, $"{name}: the reference produced no frames");
        Assert.True(
            expected.Length == actual.Length,
            $"{name}: reference has {expected.Length / frameBytes} frames, ours {actual.Length / (double)frameBytes}");
        var worst = double.PositiveInfinity;
        var worstFrame = -1;
        for (var frame = 0; frame < expected.Length / frameBytes; frame++)
        {
            var psnr = Psnr(actual.AsSpan(frame * frameBytes, frameBytes), expected.AsSpan(frame * frameBytes, frameBytes));
            if (psnr < worst)
            {
                worst = psnr;
                worstFrame = frame;
            }
        }

        Assert.True(worst >= minimumPsnr, $"{name}: frame {worstFrame} has PSNR {worst:0.00} dB < {minimumPsnr} dB");
    }
}
