using VideoData.Storage.Blobs;
using VideoData.Storage.Local;
using VideoData.Storage.Tests.Blobs;

namespace VideoData.Storage.Tests.Local;

public sealed class LocalBlobStoreTests : BlobStoreContractTests, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("videodata-local-store-").FullName;
    private readonly List<BlobStoreResolver> _resolvers = [];

    protected override Task<IBlobStore> CreateStoreAsync(int listPageSize = 1000)
    {
        var resolver = new BlobStoreResolver(new BlobStoreOptions { LocalRoot = _root, LocalListPageSize = listPageSize });
        _resolvers.Add(resolver);
        return Task.FromResult(resolver.Resolve(".").Store);
    }

    public void Dispose()
    {
        foreach (var resolver in _resolvers)
        {
            resolver.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task WriteAsync_ConcurrentReadersDuringRewrites_SeeOneWholeVersion()
    {
        var store = await CreateStoreAsync();
        var versions = Enumerable.Range(0, 4).Select(v => RandomBytes(MiB, 100 + v)).ToArray();
        await store.WriteAsync("hot.bin", new MemoryStream(versions[0]));

        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            var reads = 0;
            while (!stop.IsCancellationRequested || reads == 0)
            {
                var bytes = await ReadAllAsync(store, "hot.bin");
                Assert.Contains(versions, v => v.AsSpan().SequenceEqual(bytes));
                reads++;
            }

            return reads;
        })).ToArray();

        for (var i = 0; i < 40; i++)
        {
            await store.WriteAsync("hot.bin", new MemoryStream(versions[i % versions.Length]));
        }

        await stop.CancelAsync();
        var counts = await Task.WhenAll(readers);
        Assert.All(counts, c => Assert.True(c > 0));
        Assert.Empty(Directory.GetFiles(_root, LocalBlobStore.TempPrefix + "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Resolve_PlainPathOutsideRoot_IsRejected()
    {
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { LocalRoot = _root });
        var error = Assert.Throws<FormatException>(() => resolver.Resolve("../elsewhere/x.mp4"));
        Assert.Contains("may not leave it", error.Message, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Resolve_FileUriAndPlainPath_ReachTheSameObject()
    {
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { LocalRoot = _root });
        var plain = resolver.Resolve("videos/a.bin");
        await plain.Store.WriteAsync(plain.Key, new MemoryStream([9, 8, 7]));

        var uri = new Uri(Path.Combine(_root, "videos", "a.bin")).AbsoluteUri;
        var viaUri = resolver.Resolve(uri);
        Assert.Equal(uri, viaUri.Store.UriOf(viaUri.Key));
        Assert.Equal([9, 8, 7], await ReadAllAsync(viaUri.Store, viaUri.Key));
        Assert.True(resolver.Counters.BytesWritten >= 3);
        Assert.True(resolver.Counters.BytesRead >= 3);
    }
}
