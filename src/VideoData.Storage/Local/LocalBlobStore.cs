using System.Runtime.CompilerServices;
using VideoData.Core.Failures;
using VideoData.Core.IO;
using VideoData.Storage.Blobs;

namespace VideoData.Storage.Local;

/// <summary>
/// A folder as a blob store. Keys map to files below the root; writes go to a temporary file in the
/// target folder, are flushed to disk and then renamed over the target (atomic on POSIX file systems); a key
/// whose path is a device, FIFO or link is written in place, never renamed over.
/// </summary>
internal sealed class LocalBlobStore : IBlobStore
{
    /// <summary>Temporary files start with this, then the target's file name, a dash and a GUID; listings skip them.</summary>
    internal const string TempPrefix = ".videodata-tmp-";

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
            if (key.StartsWith(prefix, StringComparison.Ordinal) && !Path.GetFileName(file).StartsWith(TempPrefix, StringComparison.Ordinal))
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
        var path = PathOf(key);
        var folder = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        // The target's name in the temporary one lets a restarted writer tell its own leftovers from others' in-flight files.
        var temp = Path.Combine(folder, $"{TempPrefix}{Path.GetFileName(path)}-{Guid.NewGuid():N}");
        _counters.Request();

        // A key that names a device, FIFO or link (a store rooted where /dev/null is linked in) is written in place:
        // renaming over it would replace the node itself (OutputFile).
        var inPlace = OutputFile.IsWrittenInPlace(path);
        try
        {
            var file = inPlace ? OutputFile.OpenInPlace(path) : new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, CopyBufferSize, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(CopyBufferSize);
                try
                {
                    int read;
                    while ((read = await content.ReadAsync(buffer.AsMemory(0, CopyBufferSize), cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        _counters.Written(read);
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }

                // Durable before it becomes visible: a crash after the rename must not leave an empty file.
                file.Flush(flushToDisk: !inPlace);
            }

            if (!inPlace)
            {
                File.Move(temp, path, overwrite: true);
            }
        }
        catch
        {
            TryDelete(temp);
            throw;
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

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temporary name is never listed, and a later write does not reuse it.
        }
    }
}
