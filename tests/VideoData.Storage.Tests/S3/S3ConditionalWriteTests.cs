using VideoData.Storage.Blobs;
using VideoData.Storage.Tests.Blobs;
using VideoData.Testing.S3;

namespace VideoData.Storage.Tests.S3;

/// <summary>
/// The S3 store's conditional writes (If-None-Match: *, If-Match) against s3rver behind a proxy that enforces them as AWS S3
/// does: s3rver 3.7.1 ignores both headers, which the last test pins down.
/// </summary>
[Collection(S3ServerCollection.Name)]
public sealed class S3ConditionalWriteTests(S3ServerFixture server) : ConditionalWriteContractTests, IAsyncLifetime
{
    private readonly List<BlobStoreResolver> _resolvers = [];
    private FaultInjectingProxy _proxy = null!;

    public Task InitializeAsync()
    {
        _proxy = FaultInjectingProxy.Start(server.Endpoint, new FaultProxyOptions { EnforceConditionalWrites = true });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var resolver in _resolvers)
        {
            resolver.Dispose();
        }

        await _proxy.DisposeAsync();
    }

    protected override async Task<IBlobStore> CreateConditionalStoreAsync() => await StoreAsync(_proxy.Endpoint);

    private async Task<IBlobStore> StoreAsync(Uri endpoint)
    {
        var bucket = await server.CreateBucketAsync("conditional");
        var resolver = new BlobStoreResolver(new BlobStoreOptions { S3 = S3BlobStoreTests.OptionsFor(endpoint) });
        _resolvers.Add(resolver);
        return resolver.Resolve($"s3://{bucket}/").Store;
    }

    [Fact]
    public async Task TryCreateAsync_ThroughTheProxy_IsRefusedWith412()
    {
        var store = await CreateConditionalStoreAsync();
        await store.TryCreateAsync("k.json", "1"u8.ToArray());
        Assert.Null(await store.TryCreateAsync("k.json", "2"u8.ToArray()));
        Assert.True(_proxy.ConditionsRefused >= 1);
    }

    [Fact]
    public async Task S3rver_371_IgnoresIfNoneMatch_SoConditionalWritesAreTestedThroughTheProxy()
    {
        // A known limitation of the test server, checked so that an upgrade that fixes it is noticed.
        var store = await StoreAsync(server.Endpoint);
        await store.TryCreateAsync("k.json", "1"u8.ToArray());
        var overwritten = await store.TryCreateAsync("k.json", "2"u8.ToArray());
        Assert.NotNull(overwritten);
        Assert.Equal("2"u8.ToArray(), (await store.ReadVersionedAsync("k.json"))!.Content);
    }
}
