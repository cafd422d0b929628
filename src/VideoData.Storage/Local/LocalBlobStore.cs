using System.Runtime.CompilerServices;
using VideoData.Core.Failures;
using VideoData.Core.IO;
using VideoData.Storage.Blobs;

namespace VideoData.Storage.Local;

/// <summary>
/// A folder as a blob store. Keys map to files below the root; writes go to a temporary file in the
/// target folder, are flushed to disk and then renamed over the target (atomic on POSIX file systems); a key
/// whose path is a device, FIFO or link is written in place, never renamed over.
/// Conditional operations (<see cref="TryCreateAsync"/> and the others) run while holding an exclusive
/// <c>flock</c> on the folder's <c>.videodata-lock</c> file, so they are atomic among processes of one machine
/// (or of a file system that honours flock); a version is the SHA-256 of the content.
/// </summary>
internal sealed class LocalBlobStore : IBlobStore
{
    /// <summary>Temporary files start with this, then the target's file name, a dash and a GUID; listings skip them.</summary>
    internal const string TempPrefix = OutputFile.TemporaryPrefix;

    /// <summary>The per-folder lock file conditional operations hold; never listed, never removed (removing a held flock's file would break it).</summary>
    internal const string LockName = ".videodata-lock";

    private const int CopyBufferSize = 1 << 20;
    private readonly string _root;
    private readonly StorageCounters _counters;
    private readonly int _pageSize;

    public LocalBlobStore(string root, StorageCounters counters, int pageSize = 1000)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        _counters = counters;
        _pageSize = pageSize;
    }

    public string RootUri => new Uri(_root.EndsWith('/') ? _root : _root + "/").AbsoluteUri;

    public StorageCountersSnapshot Counters => _counters.Snapshot();

    public string UriOf(string key) => new Uri(PathOf(key)).AbsoluteUri;

    public Task<BlobInfo?> StatAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        _counters.Request();
        var info = new FileInfo(path);
        return Task.FromResult(info.Exists ? new BlobInfo(key, info.Length, info.LastWriteTimeUtc) : null);
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) =>
        await StatAsync(key, cancellationToken).ConfigureAwait(false) is not null;

    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        _counters.Request();
        try
        {
            Stream stream = new CountingReadStream(
                new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous),
                _counters);
            return Task.FromResult(stream);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new VideoDataException(FailureClass.Fetch, $"{UriOf(key)}: object not found.", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new VideoDataException(FailureClass.Fetch, $"{UriOf(key)}: access denied.", ex);
        }
    }

    public async IAsyncEnumerable<BlobInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        BlobKeys.ValidatePrefix(prefix);
        var slash = prefix.LastIndexOf('/');
        var folder = slash < 0 ? _root : Path.Combine(_root, prefix[..slash]);
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        // Enumerate lazily but yield in ordinal key order page by page: collect keys first (names only,
        // cheap), sort, then stat one page at a time.
        _counters.Request();
        var keys = new List<string>();
        foreach (var file in Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true }))
        {
            var key = Path.GetRelativePath(_root, file).Replace(Path.DirectorySeparatorChar, '/');
            var fileName = Path.GetFileName(file);
            if (key.StartsWith(prefix, StringComparison.Ordinal) && !fileName.StartsWith(TempPrefix, StringComparison.Ordinal) && fileName != LockName)
            {
                keys.Add(key);
            }
        }

        keys.Sort(StringComparer.Ordinal);
        for (var start = 0; start < keys.Count; start += _pageSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _counters.Request();
            var page = new List<BlobInfo>(Math.Min(_pageSize, keys.Count - start));
            for (var i = start; i < Math.Min(keys.Count, start + _pageSize); i++)
            {
                var info = new FileInfo(Path.Combine(_root, keys[i]));
                if (info.Exists)
                {
                    page.Add(new BlobInfo(keys[i], info.Length, info.LastWriteTimeUtc));
                }
            }

            foreach (var blob in page)
            {
                yield return blob;
            }

            await Task.Yield();
        }
    }

    public async Task WriteAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        await WriteWithAsync(key, async (file, ct) =>
        {
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(CopyBufferSize);
            try
            {
                int read;
                while ((read = await content.ReadAsync(buffer.AsMemory(0, CopyBufferSize), ct).ConfigureAwait(false)) > 0)
                {
                    await file.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                    _counters.Written(read);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task WriteWithAsync(string key, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        var path = PathOf(key);
        _counters.Request();

        // OutputFile is the one write-then-rename primitive: a temporary name of its scheme beside the target (TempPrefix,
        // which listings skip and the pipeline's sweep knows), flushed to disk, renamed, the folder flushed; a key whose
        // path is a device, FIFO or link (a store rooted where /dev/null is linked in) is written in place.
        try
        {
            await OutputFile.WriteAsync(path, write, flushToDisk: true, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex) when (ex is not (FileNotFoundException or DirectoryNotFoundException))
        {
            // A full disk or a failing device: say which output it was, not only the temporary file's name.
            throw new IOException($"Could not write {path}: {ex.Message}", ex);
        }
    }

    public async Task WriteFileAsync(string key, string localPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(localPath);
        var source = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (source.ConfigureAwait(false))
        {
            await WriteAsync(key, source, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        _counters.Request();
        File.Delete(path);
        return Task.CompletedTask;
    }

    public async Task<string?> TryCreateAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        using var held = await LockFolderAsync(path, cancellationToken).ConfigureAwait(false);
        if (File.Exists(path))
        {
            return null;
        }

        await WriteBytesAsync(key, content, cancellationToken).ConfigureAwait(false);
        return VersionOf(content.Span);
    }

    public async Task<VersionedBlob?> ReadVersionedAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        _counters.Request();
        try
        {
            var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            return new VersionedBlob(bytes, VersionOf(bytes));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public async Task<string?> TryReplaceAsync(string key, ReadOnlyMemory<byte> content, string expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(expectedVersion);
        var path = PathOf(key);
        using var held = await LockFolderAsync(path, cancellationToken).ConfigureAwait(false);
        if (await ReadVersionedAsync(key, cancellationToken).ConfigureAwait(false) is not { } current || current.Version != expectedVersion)
        {
            return null;
        }

        await WriteBytesAsync(key, content, cancellationToken).ConfigureAwait(false);
        return VersionOf(content.Span);
    }

    public async Task<bool> TryDeleteAsync(string key, string expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(expectedVersion);
        var path = PathOf(key);
        using var held = await LockFolderAsync(path, cancellationToken).ConfigureAwait(false);
        if (await ReadVersionedAsync(key, cancellationToken).ConfigureAwait(false) is not { } current || current.Version != expectedVersion)
        {
            return false;
        }

        File.Delete(path);
        return true;
    }

    private static string VersionOf(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content));

    private async Task WriteBytesAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(content.ToArray(), writable: false);
        await WriteAsync(key, stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes the folder's lock (an exclusive flock, which .NET takes for <see cref="FileShare.None"/>), retrying while another
    /// process holds it; each holder keeps it for one small read and write. Fails after a minute with the lock's path.
    /// </summary>
    private static async Task<FileStream> LockFolderAsync(string path, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        var lockPath = Path.Combine(folder, LockName);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(5, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new IOException($"{lockPath}: could not take the lock within a minute (another process holds it): {ex.Message}", ex);
            }
        }
    }

    private string PathOf(string key)
    {
        BlobKeys.Validate(key);
        var path = Path.GetFullPath(Path.Combine(_root, key));

        // BlobKeys already rules out '..' and absolute keys; this guards against anything it missed.
        var rootWithSlash = _root.EndsWith('/') ? _root : _root + "/";
        if (!path.StartsWith(rootWithSlash, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Object key '{BlobKeys.Printable(key)}' resolves outside the store root '{_root}'.", nameof(key));
        }

        return path;
    }
}
