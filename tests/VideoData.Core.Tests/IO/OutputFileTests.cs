using System.Text;
using VideoData.Core.IO;
using VideoData.Testing;

namespace VideoData.Core.Tests.IO;

/// <summary>
/// <see cref="OutputFile"/>: regular files by rename, anything else in place. Device nodes are private ones made
/// with mknod in a temporary folder, never the machine's /dev/null.
/// </summary>
public sealed class OutputFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("videodata-outputfile-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void TemporaryNameFor_FollowsTheOneScheme_AndIsRecognisedForItsTargetOnly()
    {
        var name = OutputFile.TemporaryNameFor("shard-00012.parquet");

        Assert.Matches("^\\.videodata-tmp-shard-00012\\.parquet-[0-9a-f]{32}$", name);
        Assert.True(OutputFile.IsTemporaryName(name));
        Assert.True(OutputFile.IsTemporaryNameOf(name, "shard-00012.parquet"));
        Assert.False(OutputFile.IsTemporaryNameOf(name, "shard-00012"));
        Assert.False(OutputFile.IsTemporaryNameOf(OutputFile.TemporaryNameFor("shard-000123.parquet"), "shard-00012.parquet"));
        Assert.False(OutputFile.IsTemporaryName("shard-00012.parquet"));
        Assert.EndsWith(".mp4", OutputFile.TemporaryNameFor("demo.mp4", ".mp4"), StringComparison.Ordinal);
    }

    [Fact]
    public void Write_WriterFails_KeepsTheOldFileAndLeavesNoTemporaryFile()
    {
        var path = Path.Combine(_folder, "latest");
        OutputFile.Write(path, stream => stream.Write("old\n"u8));

        var error = Assert.Throws<InvalidOperationException>(() => OutputFile.Write(path, stream =>
        {
            stream.Write("half of the new"u8);
            throw new InvalidOperationException("writer failed");
        }));

        Assert.Equal("writer failed", error.Message);
        Assert.Equal("old\n", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_folder));
    }

    [Fact]
    public async Task WriteAsync_RegularFile_ReplacesItWholeAndLeavesOnlyTheTarget()
    {
        var path = Path.Combine(_folder, "sub", "plan.parquet");
        await OutputFile.WriteAsync(path, (stream, ct) => stream.WriteAsync(new byte[10], ct).AsTask());
        await OutputFile.WriteAsync(path, (stream, ct) => stream.WriteAsync(new byte[3], ct).AsTask());

        Assert.Equal(3, new FileInfo(path).Length);
        Assert.Equal([path], Directory.GetFiles(Path.Combine(_folder, "sub")));
    }

    [Fact]
    public async Task WriteAsync_CharacterDevice_WritesInPlaceAndTheNodeStaysADevice()
    {
        var device = DeviceNodes.CreateNull(Path.Combine(_folder, "null"));

        await OutputFile.WriteAsync(device, (stream, ct) => stream.WriteAsync(new byte[100_000], ct).AsTask());

        Assert.True(DeviceNodes.IsCharacterDevice(device), DeviceNodes.Describe(device));
        Assert.Empty(DeviceNodes.OtherEntries(_folder, "null"));
    }

    [Fact]
    public void TemporaryPathFor_Device_IsNotBesideIt()
    {
        var device = DeviceNodes.CreateNull(Path.Combine(_folder, "null"));

        var temporary = OutputFile.TemporaryPathFor(device);

        Assert.NotEqual(_folder, Path.GetDirectoryName(temporary));
        Assert.True(OutputFile.IsWrittenInPlace(device));
    }

    [Fact]
    public void Publish_SymlinkToDevice_WritesThroughTheLinkAndKeepsBoth()
    {
        // /dev/stdout is a link (to /proc/self/fd/1): renaming over it would replace the link.
        var device = DeviceNodes.CreateNull(Path.Combine(_folder, "null"));
        var link = Path.Combine(_folder, "stdout");
        File.CreateSymbolicLink(link, device);
        var temporary = OutputFile.TemporaryPathFor(link);
        File.WriteAllText(temporary, "bytes");

        OutputFile.Publish(temporary, link);

        Assert.Equal("symbolic link", DeviceNodes.Describe(link));
        Assert.True(DeviceNodes.IsCharacterDevice(device));
        Assert.False(File.Exists(temporary));
    }

    [Fact]
    public async Task WriteAsync_Fifo_ReaderGetsEveryByteAndTheFifoStays()
    {
        var fifo = DeviceNodes.CreateFifo(Path.Combine(_folder, "pipe"));
        var payload = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("frame ", 50_000)));
        var reader = Task.Run(() => File.ReadAllBytes(fifo));

        await OutputFile.WriteAsync(fifo, (stream, ct) => stream.WriteAsync(payload, ct).AsTask());

        Assert.Equal(payload, await reader);
        Assert.Equal("fifo", DeviceNodes.Describe(fifo));
    }

    [Fact]
    public async Task WriteAsync_SymlinkToRegularFile_ReplacesTheContentNotTheLink()
    {
        var target = Path.Combine(_folder, "target.bin");
        File.WriteAllText(target, "an older and much longer content");
        var link = Path.Combine(_folder, "link.bin");
        File.CreateSymbolicLink(link, target);

        await OutputFile.WriteAsync(link, (stream, ct) => stream.WriteAsync("new"u8.ToArray(), ct).AsTask());

        Assert.Equal("symbolic link", DeviceNodes.Describe(link));
        Assert.Equal("new", File.ReadAllText(target));
    }

    [Fact]
    public async Task WriteAsync_RegularFile_IsReplacedByRenameAndNoTemporaryStays()
    {
        var path = Path.Combine(_folder, "out.bin");
        File.WriteAllText(path, "old");
        var before = new FileInfo(path);
        using var held = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

        await OutputFile.WriteAsync(path, (stream, ct) => stream.WriteAsync("new"u8.ToArray(), ct).AsTask());

        // A reader that had the old file open still reads the old bytes: the new file is a new inode (rename).
        Assert.Equal("old", new StreamReader(held).ReadToEnd());
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal("regular file", DeviceNodes.Describe(path));
        Assert.Empty(DeviceNodes.OtherEntries(_folder, "out.bin"));
    }

    [Fact]
    public async Task WriteAsync_WriterFails_OldFileKeptAndNoTemporaryLeft()
    {
        var path = Path.Combine(_folder, "out.bin");
        File.WriteAllText(path, "old");

        await Assert.ThrowsAsync<InvalidOperationException>(() => OutputFile.WriteAsync(path, async (stream, ct) =>
        {
            await stream.WriteAsync("half"u8.ToArray(), ct);
            throw new InvalidOperationException("writer failed");
        }));

        Assert.Equal("old", File.ReadAllText(path));
        Assert.Empty(DeviceNodes.OtherEntries(_folder, "out.bin"));
    }
}
