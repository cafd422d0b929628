using System.Security.Cryptography;
using VideoData.Core.Failures;
using VideoData.Storage.Blobs;

namespace VideoData.Storage.Tests.Blobs;

/// <summary>The behaviour every <see cref="IBlobStore"/> promises, run against each implementation.</summary>
public abstract class BlobStoreContractTests
{
    protected const int MiB = 1024 * 1024;

    /// <summary>A fresh, empty store.</summary>
    protected abstract Task<IBlobStore> CreateStoreAsync(int listPageSize = 1000);

    protected static byte[] RandomBytes(int length, int seed)
    {
        var data = GC.AllocateUninitializedArray<byte>(length);
        new Random(seed).NextBytes(data);
        return data;
    }

    protected static async Task<byte[]> ReadAllAsync(IBlobStore store, string key)
    {
        await using var stream = await store.OpenReadAsync(key);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData((5 * MiB) - 1)]
    [InlineData((5 * MiB) + 1)]
    public async Task WriteAsync_RoundTrip_ReadsSameBytes(int size)
    {
        var store = await CreateStoreAsync();
        var data = RandomBytes(size, size);

        await store.WriteAsync($"round/{size}.bin", new MemoryStream(data));

        var info = await store.StatAsync($"round/{size}.bin");
        Assert.NotNull(info);
        Assert.Equal(size, info.Length);
        Assert.Equal(data, await ReadAllAsync(store, $"round/{size}.bin"));
    }

    [Fact]
    public async Task WriteFileAsync_64MiB_ReadsSameBytes()
    {
        var store = await CreateStoreAsync();
        var data = RandomBytes(64 * MiB, 64);
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(file, data);
            await store.WriteFileAsync("big/64mib.bin", file);
        }
        finally
        {
            File.Delete(file);
        }

        var back = await ReadAllAsync(store, "big/64mib.bin");
        Assert.Equal(data.Length, back.Length);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(back));
    }

    [Fact]
    public async Task OpenReadAsync_RandomSeeks_ReturnSourceBytes()
    {
        var store = await CreateStoreAsync();
        var data = RandomBytes((3 * MiB) + 12345, 7);
        await store.WriteAsync("seek.bin", new MemoryStream(data));
        await using var stream = await store.OpenReadAsync("seek.bin");
        Assert.True(stream.CanSeek);
        Assert.Equal(data.Length, stream.Length);

        var random = new Random(11);
        var buffer = new byte[300_000];
        for (var i = 0; i < 60; i++)
        {
            var offset = i switch
            {
                0 => data.Length - 10,
                1 => 0,
                _ => random.NextInt64(data.Length),
            };
            var count = random.Next(1, buffer.Length);
            if (i % 3 == 0)
            {
                stream.Seek(offset - data.Length, SeekOrigin.End);
            }
            else
            {
                stream.Position = offset;
            }

            var expected = (int)Math.Min(count, data.Length - offset);
            var got = 0;
            while (got < expected)
            {
                // Alternate the synchronous (FFmpeg's AVIO callback) and asynchronous paths.
                var read = i % 2 == 0
                    ? stream.Read(buffer, got, expected - got)
                    : await stream.ReadAsync(buffer.AsMemory(got, expected - got));
                Assert.True(read > 0, $"read returned 0 at {offset + got} of {data.Length}");
                got += read;
            }

            Assert.Equal(offset + expected, stream.Position);
            Assert.True(data.AsSpan((int)offset, expected).SequenceEqual(buffer.AsSpan(0, expected)), $"bytes differ at seek {i} (offset {offset}, {expected} bytes)");
        }

        stream.Position = data.Length;
        Assert.Equal(0, await stream.ReadAsync(buffer));
        stream.Position = data.Length + 100;
        Assert.Equal(0, stream.Read(buffer, 0, 10));
    }

    [Fact]
    public async Task ListAsync_MorePagesThanOne_ReturnsEveryKeyUnderPrefixInOrder()
    {
        var store = await CreateStoreAsync(listPageSize: 7);
        var expected = new List<string>();
        for (var i = 0; i < 23; i++)
        {
            var key = $"list/a/{i:D3}.bin";
            expected.Add(key);
            await store.WriteAsync(key, new MemoryStream(RandomBytes(i, i)));
        }

        // A sibling that shares the prefix but is not in the folder. Its name sorts after "a/" both in S3's
        // byte order and in s3rver's folder-first walk (which would put "a-x" after "a/", unlike AWS).
        expected.Add("list/ab.bin");
        await store.WriteAsync("list/ab.bin", new MemoryStream([1, 2, 3]));
        await store.WriteAsync("list/b/outside.bin", new MemoryStream([4]));
        await store.WriteAsync("other.bin", new MemoryStream([5]));
        expected.Sort(StringComparer.Ordinal);

        var listed = new List<BlobInfo>();
        await foreach (var blob in store.ListAsync("list/a"))
        {
            listed.Add(blob);
        }

        Assert.Equal(expected, listed.Select(b => b.Key));
        Assert.Equal(5, listed.Single(b => b.Key == "list/a/005.bin").Length);

        var folder = new List<string>();
        await foreach (var blob in store.ListAsync("list/a/"))
        {
            folder.Add(blob.Key);
        }

        Assert.Equal(23, folder.Count);

        var all = 0;
        await foreach (var _ in store.ListAsync(""))
        {
            all++;
        }

        Assert.Equal(26, all);

        await foreach (var _ in store.ListAsync("nothing/here/"))
        {
            Assert.Fail("an empty prefix listing returned an object");
        }
    }

    [Fact]
    public async Task StatAsync_MissingObject_ReturnsNull()
    {
        var store = await CreateStoreAsync();
        Assert.Null(await store.StatAsync("missing/object.bin"));
        Assert.False(await store.ExistsAsync("missing/object.bin"));
    }

    [Fact]
    public async Task OpenReadAsync_MissingObject_ThrowsFetchFailureNamingTheUri()
    {
        var store = await CreateStoreAsync();
        var error = await Assert.ThrowsAsync<VideoDataException>(() => store.OpenReadAsync("missing/video.mp4"));
        Assert.Equal(FailureClass.Fetch, error.FailureClass);
        Assert.Contains("missing/video.mp4", error.Message, StringComparison.Ordinal);
        Assert.Contains("not found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteAsync_ExistingAndMissing_RemovesWithoutError()
    {
        var store = await CreateStoreAsync();
        await store.WriteAsync("gone.bin", new MemoryStream([1]));
        await store.DeleteAsync("gone.bin");
        Assert.False(await store.ExistsAsync("gone.bin"));
        await store.DeleteAsync("gone.bin");
    }

    [Theory]
    [InlineData("../escape.bin")]
    [InlineData("a/../../escape.bin")]
    [InlineData("/etc/passwd")]
    [InlineData("a//b")]
    [InlineData("a\\b")]
    [InlineData("a/\u0001b")]
    [InlineData("")]
    public async Task WriteAsync_UnsafeKey_ThrowsNamingTheKey(string key)
    {
        var store = await CreateStoreAsync();
        var error = await Assert.ThrowsAsync<ArgumentException>(() => store.WriteAsync(key, new MemoryStream([1])));
        Assert.Contains("Invalid object key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_SourceFailsMidway_LeavesOldObjectWhole()
    {
        var store = await CreateStoreAsync();
        var old = RandomBytes(MiB, 1);
        await store.WriteAsync("atomic/obj.bin", new MemoryStream(old));

        // Fails after more than the multipart threshold, so the S3 store is already uploading parts.
        var failing = new FailingStream(RandomBytes(12 * MiB, 2), failAfter: 11 * MiB);
        await Assert.ThrowsAnyAsync<IOException>(() => store.WriteAsync("atomic/obj.bin", failing));
        await Assert.ThrowsAnyAsync<IOException>(() => store.WriteAsync("atomic/new.bin", new FailingStream(RandomBytes(12 * MiB, 3), failAfter: 11 * MiB)));

        Assert.Equal(old, await ReadAllAsync(store, "atomic/obj.bin"));
        Assert.Null(await store.StatAsync("atomic/new.bin"));
        var keys = new List<string>();
        await foreach (var blob in store.ListAsync("atomic/"))
        {
            keys.Add(blob.Key);
        }

        Assert.Equal(["atomic/obj.bin"], keys);
    }

    [Fact]
    public async Task WriteWithAsync_WriterSeeksBackToPatchAHeader_StoresTheFinalBytes()
    {
        // Parquet writers (plans, embeddings, caption tables) seek back into what they wrote: the stream must allow it.
        var store = await CreateStoreAsync();
        var body = RandomBytes(3 * MiB, 7);

        await store.WriteWithAsync("with/patched.bin", async (stream, ct) =>
        {
            await stream.WriteAsync(new byte[8], ct);
            await stream.WriteAsync(body, ct);
            stream.Position = 0;
            await stream.WriteAsync(BitConverter.GetBytes((long)body.Length), ct);
        });

        var stored = await ReadAllAsync(store, "with/patched.bin");
        Assert.Equal(body.Length + 8, stored.Length);
        Assert.Equal(body.Length, BitConverter.ToInt64(stored, 0));
        Assert.Equal(body, stored[8..]);
    }

    [Fact]
    public async Task WriteWithAsync_WriterFails_LeavesOldObjectAndNoOtherKeyOrTemporaryFile()
    {
        var store = await CreateStoreAsync();
        var old = RandomBytes(MiB, 8);
        await store.WriteAsync("with/obj.bin", new MemoryStream(old));
        var spoolsBefore = Directory.GetFiles(Path.GetTempPath(), VideoData.Core.IO.OutputFile.TemporaryPrefix + "with_*").Length;

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => store.WriteWithAsync("with/obj.bin", async (stream, ct) =>
        {
            await stream.WriteAsync(RandomBytes(2 * MiB, 9), ct);
            throw new InvalidDataException("the writer gave up");
        }));

        Assert.Equal("the writer gave up", error.Message);
        Assert.Equal(old, await ReadAllAsync(store, "with/obj.bin"));
        var keys = new List<string>();
        await foreach (var blob in store.ListAsync("with/"))
        {
            keys.Add(blob.Key);
        }

        Assert.Equal(["with/obj.bin"], keys);
        Assert.Equal(spoolsBefore, Directory.GetFiles(Path.GetTempPath(), VideoData.Core.IO.OutputFile.TemporaryPrefix + "with_*").Length);
    }

    [Fact]
    public async Task OpenReadAsync_ObjectReplacedWhileReading_SeesOldObjectOrFailsNeverAMix()
    {
        var store = await CreateStoreAsync();
        var old = RandomBytes(2 * MiB, 21);
        var replacement = RandomBytes(2 * MiB, 22);
        await store.WriteAsync("pinned.bin", new MemoryStream(old));

        await using var reader = await store.OpenReadAsync("pinned.bin");
        var first = new byte[1000];
        await reader.ReadExactlyAsync(first);
        await store.WriteAsync("pinned.bin", new MemoryStream(replacement));

        var rest = new MemoryStream();
        try
        {
            await reader.CopyToAsync(rest);
            Assert.Equal(old, first.Concat(rest.ToArray()).ToArray());
        }
        catch (VideoDataException error)
        {
            Assert.Equal(FailureClass.Fetch, error.FailureClass);
            Assert.Contains("changed while being read", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(replacement, await ReadAllAsync(store, "pinned.bin"));
    }

    /// <summary>Hands out its data, then throws an <see cref="IOException"/> once <c>failAfter</c> bytes were read.</summary>
    protected sealed class FailingStream(byte[] data, int failAfter) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (Position >= failAfter)
            {
                throw new IOException("source failed on purpose");
            }

            return base.Read(buffer, offset, (int)Math.Min(count, failAfter - Position));
        }

        public override int Read(Span<byte> buffer)
        {
            var array = new byte[buffer.Length];
            var read = Read(array, 0, array.Length);
            array.AsSpan(0, read).CopyTo(buffer);
            return read;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer, offset, count));
    }
}
