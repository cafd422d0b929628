using System.Security.Cryptography;
using VideoData.Media.Decode;
using VideoData.Storage.Blobs;
using VideoData.Storage.S3;
using VideoData.Testing.S3;
using VideoData.Testing.Videos;
using Xunit.Abstractions;

namespace VideoData.Storage.Tests.S3;

/// <summary>
/// FFmpeg decoding through the S3 read stream: an MP4 with its moov atom at the end makes the demuxer read the
/// head, seek to the end and come back, through the synchronous read path. The frames must equal those
/// decoded from the local file, also when requests fail.
/// </summary>
[Collection(S3ServerCollection.Name)]
public sealed class S3VideoReadTests(S3ServerFixture server, ITestOutputHelper output)
{
    private static async Task<List<string>> DecodeHashesAsync(Stream input, string name)
    {
        var hashes = new List<string>();
        await foreach (var chunk in VideoDecoder.DecodeAsync(input, name, new DecodeOptions { Decoder = DecoderPreference.Cpu }))
        {
            using (chunk)
            {
                hashes.Add($"{chunk.SecondIndex}:{chunk.FrameCount}:{Convert.ToHexString(SHA256.HashData(chunk.Pixels))}");
            }
        }

        return hashes;
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.15)]
    public async Task DecodeAsync_MoovAtEndMp4FromS3_SameFramesAsLocalFile(double faultRate)
    {
        var local = TestVideos.Get(TestVideoCatalog.H264At25Fps);
        var expected = await DecodeHashesAsync(File.OpenRead(local), local);

        var bucket = await server.CreateBucketAsync("video");
        await using var proxy = FaultInjectingProxy.Start(server.Endpoint, new FaultProxyOptions { Seed = 5, StallDuration = TimeSpan.FromSeconds(20) });
        var options = S3BlobStoreTests.OptionsFor(proxy.Endpoint);
        options.ReadChunkSize = 64 * 1024;
        options.SeekReadSize = 4 * 1024;
        options.AttemptTimeout = TimeSpan.FromSeconds(3);
        options.MaxRetryAttempts = 10;
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = options });
        var store = resolver.Resolve($"s3://{bucket}/").Store;
        await store.WriteFileAsync("videos/clip.mp4", local);

        proxy.FaultRate = faultRate;
        var before = resolver.Counters;
        await using var stream = await store.OpenReadAsync("videos/clip.mp4");
        var actual = await DecodeHashesAsync(stream, store.UriOf("videos/clip.mp4"));

        var after = resolver.Counters;
        output.WriteLine($"{new FileInfo(local).Length} bytes decoded with {after.Requests - before.Requests} requests, {after.BytesRead - before.BytesRead} bytes read, {after.Retries - before.Retries} retries, faults {string.Join(", ", proxy.Injected)}");
        Assert.Equal(expected, actual);
        Assert.True(resolver.Counters.Requests - before.Requests >= 3, "the demuxer should have needed several ranged reads");
        if (faultRate > 0)
        {
            Assert.True(proxy.InjectedTotal > 0, "no fault was injected");
            Assert.True(resolver.Counters.Retries > before.Retries);
        }
    }
}
