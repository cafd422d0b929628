using VideoData.Storage.Blobs;
using VideoData.Testing;

namespace VideoData.Storage.Tests.Local;

/// <summary>The local store writes a key whose path is a device or link in place, never renaming over it (issue 18 item 6).</summary>
public sealed class LocalBlobStoreDeviceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("videodata-local-device-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task WriteAsync_KeyIsACharacterDevice_WritesInPlaceAndLeavesNoTemporary()
    {
        var device = DeviceNodes.CreateNull(Path.Combine(_root, "null"));
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { LocalRoot = _root });
        var store = resolver.Resolve(".").Store;

        await store.WriteAsync("null", new MemoryStream(new byte[200_000]));

        Assert.True(DeviceNodes.IsCharacterDevice(device), DeviceNodes.Describe(device));
        Assert.Empty(DeviceNodes.OtherEntries(_root, "null"));
    }

    [Fact]
    public async Task WriteAsync_KeyIsALinkToARegularFile_ReplacesTheContentThroughTheLink()
    {
        var target = Path.Combine(_root, "target.bin");
        await File.WriteAllTextAsync(target, "a longer older content");
        File.CreateSymbolicLink(Path.Combine(_root, "link.bin"), target);
        using var resolver = new BlobStoreResolver(new BlobStoreOptions { LocalRoot = _root });

        await resolver.Resolve(".").Store.WriteAsync("link.bin", new MemoryStream("new"u8.ToArray()));

        Assert.Equal("symbolic link", DeviceNodes.Describe(Path.Combine(_root, "link.bin")));
        Assert.Equal("new", await File.ReadAllTextAsync(target));
    }
}
