namespace VideoData.Storage.Blobs;

/// <summary>
/// A flat namespace of immutable objects addressed by keys (<c>videos/abc.mp4</c>): a local folder or an
/// S3 bucket. Keys use <c>/</c> as separator and are validated by <see cref="BlobKeys.Validate"/>.
/// Implementations are thread-safe; every write is atomic (a reader sees the old object or the new one,
/// never part of one).
/// </summary>
public interface IBlobStore
{
    /// <summary>A URI naming this store's root, e.g. <c>s3://bucket/</c> or <c>file:///data/</c>.</summary>
    string RootUri { get; }

    /// <summary>The full URI of <paramref name="key"/> in this store, for messages and ledgers.</summary>
    string UriOf(string key);

    /// <summary>Returns the object's size and time stamp, or <see langword="null"/> when it does not exist.</summary>
    Task<BlobInfo?> StatAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Whether the object exists.</summary>
    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens a seekable, read-only stream over the object. For S3 it reads with ranged GETs through a
    /// read-ahead buffer and resumes at the current offset after a broken connection. The caller owns
    /// the stream; it is not thread-safe. A missing object throws a
    /// <see cref="VideoData.Core.Failures.VideoDataException"/> of class <c>fetch</c>.
    /// </summary>
    Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists the objects whose key starts with <paramref name="prefix"/> (a plain string prefix, as S3
    /// does; empty lists everything), in ordinal key order, fetching one page at a time.
    /// </summary>
    IAsyncEnumerable<BlobInfo> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes <paramref name="content"/> (read from its current position to its end) as the object
    /// <paramref name="key"/>, replacing any existing one atomically. The stream is not disposed.
    /// </summary>
    Task WriteAsync(string key, Stream content, CancellationToken cancellationToken = default);

    /// <summary>Writes the local file <paramref name="localPath"/> as the object <paramref name="key"/>, atomically.</summary>
    Task WriteFileAsync(string key, string localPath, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the object <paramref name="key"/> with <paramref name="write"/>, which fills a readable, writable, seekable
    /// stream (Parquet writers seek back to patch their footers), atomically: nothing is visible under
    /// <paramref name="key"/> until <paramref name="write"/> has finished, and a failure leaves the old object. A local
    /// store writes the stream beside the object's file (the one temporary-name scheme of
    /// <see cref="VideoData.Core.IO.OutputFile"/>); this default, used by S3, spools it to a file of that scheme in the
    /// system's temporary folder and uploads it with <see cref="WriteFileAsync"/>.
    /// </summary>
    async Task WriteWithAsync(string key, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        BlobKeys.Validate(key);
        var spool = Path.Combine(Path.GetTempPath(), VideoData.Core.IO.OutputFile.TemporaryNameFor(key.Replace('/', '_')));
        try
        {
            var stream = new FileStream(spool, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true);
            await using (stream.ConfigureAwait(false))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
            }

            await WriteFileAsync(key, spool, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            VideoData.Core.IO.OutputFile.TryDelete(spool);
        }
    }

    /// <summary>Deletes the object; deleting a missing object is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>A snapshot of this store's request, byte, retry and throttle counters.</summary>
    StorageCountersSnapshot Counters { get; }

    // Conditional operations on small objects (leases, commit records). Each is atomic with respect to every other
    // conditional operation on the same key: of two writers racing on one version exactly one wins. Versions are
    // opaque strings (S3's ETag; a content hash on a local folder). Stores without them throw NotSupportedException.

    /// <summary>
    /// Creates <paramref name="key"/> with <paramref name="content"/> only if no object has that key (S3:
    /// <c>If-None-Match: *</c>). Returns the new object's version, or null when the key already exists.
    /// </summary>
    Task<string?> TryCreateAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{RootUri}: this store has no conditional create.");

    /// <summary>Reads a small object with its version, or null when it does not exist.</summary>
    Task<VersionedBlob?> ReadVersionedAsync(string key, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{RootUri}: this store has no versioned reads.");

    /// <summary>
    /// Replaces <paramref name="key"/> only if its current version is <paramref name="expectedVersion"/> (S3:
    /// <c>If-Match</c>). Returns the new version, or null when the object is missing or has another version.
    /// </summary>
    Task<string?> TryReplaceAsync(string key, ReadOnlyMemory<byte> content, string expectedVersion, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{RootUri}: this store has no conditional replace.");

    /// <summary>Deletes <paramref name="key"/> only if its current version is <paramref name="expectedVersion"/>; false when it was not.</summary>
    Task<bool> TryDeleteAsync(string key, string expectedVersion, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{RootUri}: this store has no conditional delete.");
}

/// <summary>A small object's content and the version a conditional operation compares against.</summary>
/// <param name="Content">The object's bytes.</param>
/// <param name="Version">Opaque version (S3 ETag, or a content hash on a local folder).</param>
public sealed record VersionedBlob(byte[] Content, string Version);
