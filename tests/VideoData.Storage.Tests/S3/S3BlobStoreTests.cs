using Amazon.S3.Model;
using VideoData.Storage.Blobs;
using VideoData.Storage.S3;
using VideoData.Storage.Tests.Blobs;
using VideoData.Testing.S3;

namespace VideoData.Storage.Tests.S3;

[Collection(S3ServerCollection.Name)]
public sealed class S3BlobStoreTests(S3ServerFixture server) : BlobStoreContractTests, IDisposable
{
    private readonly List<BlobStoreResolver> _resolvers = [];

    internal static S3StoreOptions OptionsFor(Uri endpoint) => new()
    {
        ServiceUrl = endpoint,
        ForcePathStyle = true,
        UseChunkEncoding = false,
        ChecksumMode = S3ChecksumMode.WhenRequired,
        Credentials = S3ServerFixture.Credentials,
        PartSize = S3StoreOptions.MinPartSize,
        MultipartThreshold = S3StoreOptions.MinPartSize,
        ReadChunkSize = 256 * 1024,
        MaxConcurrency = 4,
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        RetryMaxDelay = TimeSpan.FromMilliseconds(200),
    };

    protected override async Task<IBlobStore> CreateStoreAsync(int listPageSize = 1000)
    {
        var bucket = await server.CreateBucketAsync("contract");
        var options = OptionsFor(server.Endpoint);
        options.ListPageSize = listPageSize;
        var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = options });
        _resolvers.Add(resolver);
        return resolver.Resolve($"s3://{bucket}/").Store;
    }

    public void Dispose()
    {
        foreach (var resolver in _resolvers)
        {
            resolver.Dispose();
        }
    }

    [Fact]
    public async Task WriteAsync_WithoutChunkEncoding_StoresExactBytesAsSeenByAnotherClient()
    {
        var store = await CreateStoreAsync();
        var data = RandomBytes(300_000, 5);
        await store.WriteAsync("plain.bin", new MemoryStream(data));

        var bucket = store.RootUri["s3://".Length..^1];
        using var response = await server.Client.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = "plain.bin" });
        using var copy = new MemoryStream();
        await response.ResponseStream.CopyToAsync(copy);
        Assert.Equal(data, copy.ToArray());
    }

    [Fact]
    public async Task OpenReadAsync_RandomSeek_CostsOneRequest()
    {
        var store = await CreateStoreAsync();
        var data = RandomBytes(4 * MiB, 9);
        await store.WriteAsync("seekcost.bin", new MemoryStream(data));
        await using var stream = await store.OpenReadAsync("seekcost.bin");
        var buffer = new byte[4096];
        var before = store.Counters.Requests;
        var random = new Random(3);
        for (var i = 0; i < 10; i++)
        {
            // Positions 1 MiB apart land in different 256 KiB chunks, never the neighbour of the previous one.
            stream.Position = ((i * 5) % 16 * (256 * 1024)) + random.Next(1000);
            await stream.ReadExactlyAsync(buffer);
            Assert.True(data.AsSpan((int)stream.Position - buffer.Length, buffer.Length).SequenceEqual(buffer));
        }

        Assert.Equal(10, store.Counters.Requests - before);
    }

    [Fact]
    public async Task OpenReadAsync_SeekThenSequential_FetchesSmallRangeThenFullChunks()
    {
        var bucket = await server.CreateBucketAsync("seeksize");
        var options = OptionsFor(server.Endpoint);
        options.ReadChunkSize = MiB;
        options.SeekReadSize = 64 * 1024;
        options.ReadAheadChunks = 2;
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = options });
        var store = resolver.Resolve($"s3://{bucket}/").Store;
        var data = RandomBytes(8 * MiB, 12);
        await store.WriteAsync("v.mp4", new MemoryStream(data));

        await using var stream = await store.OpenReadAsync("v.mp4");
        var start = store.Counters;
        stream.Position = 5 * MiB;
        var small = new byte[4096];
        await stream.ReadExactlyAsync(small);
        Assert.Equal(64 * 1024, store.Counters.BytesRead - start.BytesRead);
        Assert.Equal(1, store.Counters.Requests - start.Requests);

        // Reading on: full chunks from the end of the small range, with read-ahead, to the end of the object.
        var rest = new MemoryStream();
        await stream.CopyToAsync(rest);
        Assert.True(data.AsSpan((5 * MiB) + 4096).SequenceEqual(rest.ToArray()));
        Assert.Equal(3 * MiB, store.Counters.BytesRead - start.BytesRead);
        Assert.Equal(1 + 3, store.Counters.Requests - start.Requests);
    }

    [Fact]
    public void Create_InvalidOption_NamesTheOption()
    {
        var options = OptionsFor(server.Endpoint);
        options.PartSize = 1024;
        var error = Assert.Throws<ArgumentException>(() => new BlobStoreResolver(new BlobStoreOptions { S3 = options }));
        Assert.Contains("PartSize", error.Message, StringComparison.Ordinal);
        Assert.Contains("1024", error.Message, StringComparison.Ordinal);
    }
}
