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

    /// <summary>Deletes the object; deleting a missing object is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>A snapshot of this store's request, byte, retry and throttle counters.</summary>
    StorageCountersSnapshot Counters { get; }
}
