using System.Text;
using VideoData.Storage.Blobs;

namespace VideoData.Storage.Tests.Blobs;

/// <summary>
/// The conditional operations leases and ledger commits are built on (create-if-absent, replace-if-version, delete-if-version),
/// run against each store that has them.
/// </summary>
public abstract class ConditionalWriteContractTests
{
    /// <summary>A fresh, empty store with conditional operations.</summary>
    protected abstract Task<IBlobStore> CreateConditionalStoreAsync();

    private static byte[] Text(string value) => Encoding.UTF8.GetBytes(value);

    [Fact]
    public async Task TryCreateAsync_KeyExists_ReturnsNullAndKeepsTheFirstContent()
    {
        var store = await CreateConditionalStoreAsync();

        var first = await store.TryCreateAsync("leases/a.json", Text("first"));
        var second = await store.TryCreateAsync("leases/a.json", Text("second"));

        Assert.NotNull(first);
        Assert.Null(second);
        var read = await store.ReadVersionedAsync("leases/a.json");
        Assert.Equal("first", Encoding.UTF8.GetString(read!.Content));
        Assert.Equal(first, read.Version);
    }

    [Fact]
    public async Task TryReplaceAsync_OnlyTheCurrentVersionWins()
    {
        var store = await CreateConditionalStoreAsync();
        var v1 = await store.TryCreateAsync("leases/b.json", Text("one"));
        var v2 = await store.TryReplaceAsync("leases/b.json", Text("two"), v1!);

        var stale = await store.TryReplaceAsync("leases/b.json", Text("three"), v1!);
        var missing = await store.TryReplaceAsync("leases/none.json", Text("x"), v1!);

        Assert.NotNull(v2);
        Assert.NotEqual(v1, v2);
        Assert.Null(stale);
        Assert.Null(missing);
        Assert.Equal("two", Encoding.UTF8.GetString((await store.ReadVersionedAsync("leases/b.json"))!.Content));
        Assert.Null(await store.ReadVersionedAsync("leases/none.json"));
    }

    [Fact]
    public async Task TryDeleteAsync_StaleVersionKeepsTheObject_CurrentVersionDeletesIt()
    {
        var store = await CreateConditionalStoreAsync();
        var v1 = await store.TryCreateAsync("leases/c.json", Text("one"));
        var v2 = await store.TryReplaceAsync("leases/c.json", Text("two"), v1!);

        Assert.False(await store.TryDeleteAsync("leases/c.json", v1!));
        Assert.NotNull(await store.ReadVersionedAsync("leases/c.json"));
        Assert.True(await store.TryDeleteAsync("leases/c.json", v2!));
        Assert.Null(await store.ReadVersionedAsync("leases/c.json"));
    }

    [Fact]
    public async Task TryCreateAsync_EightRacingWriters_ExactlyOneWins()
    {
        var store = await CreateConditionalStoreAsync();
        using var start = new ManualResetEventSlim();
        var writers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await store.TryCreateAsync("leases/race.json", Text($"writer {i}"));
        })).ToList();
        start.Set();
        var results = await Task.WhenAll(writers);

        var winner = Assert.Single(results.Select((v, i) => (v, i)), r => r.v is not null);
        Assert.Equal($"writer {winner.i}", Encoding.UTF8.GetString((await store.ReadVersionedAsync("leases/race.json"))!.Content));
    }

    [Fact]
    public async Task TryReplaceAsync_EightRacingTakersOfOneVersion_ExactlyOneWins()
    {
        var store = await CreateConditionalStoreAsync();
        var stale = await store.TryCreateAsync("leases/takeover.json", Text("stale holder"));
        using var start = new ManualResetEventSlim();
        var takers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await store.TryReplaceAsync("leases/takeover.json", Text($"taker {i}"), stale!);
        })).ToList();
        start.Set();
        var results = await Task.WhenAll(takers);

        var winner = Assert.Single(results.Select((v, i) => (v, i)), r => r.v is not null);
        Assert.Equal($"taker {winner.i}", Encoding.UTF8.GetString((await store.ReadVersionedAsync("leases/takeover.json"))!.Content));
    }
}
