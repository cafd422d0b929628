using VideoData.Storage.Blobs;
using VideoData.Storage.Tests.Blobs;

namespace VideoData.Storage.Tests.Local;

public sealed class LocalConditionalWriteTests : ConditionalWriteContractTests, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("videodata-local-conditional-").FullName;
    private readonly List<BlobStoreResolver> _resolvers = [];

    protected override Task<IBlobStore> CreateConditionalStoreAsync()
    {
        var resolver = new BlobStoreResolver(new BlobStoreOptions { LocalRoot = _root });
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
    public async Task ListAsync_SkipsTheFoldersLockFile()
    {
        var store = await CreateConditionalStoreAsync();
        await store.TryCreateAsync("leases/a.json", "x"u8.ToArray());

        var keys = new List<string>();
        await foreach (var blob in store.ListAsync("leases/"))
        {
            keys.Add(blob.Key);
        }

        Assert.True(File.Exists(Path.Combine(_root, "leases", ".videodata-lock")));
        Assert.Equal(["leases/a.json"], keys);
    }
}
