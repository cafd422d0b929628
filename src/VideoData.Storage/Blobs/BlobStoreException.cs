namespace VideoData.Storage.Blobs;

/// <summary>
/// A store operation other than reading an input failed for good: permanently (403, bad request) or after
/// its retries ran out. The message names the URI and the operation. Reads of inputs fail with
/// <see cref="VideoData.Core.Failures.VideoDataException"/> of class <c>fetch</c> instead, because the ledger records those.
/// </summary>
public sealed class BlobStoreException : IOException
{
    /// <summary>Creates the exception.</summary>
    public BlobStoreException(string uri, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Uri = uri;
    }

    /// <summary>The object or prefix the operation was about.</summary>
    public string Uri { get; }
}
